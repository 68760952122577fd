"""Drift: the binding against abi/codomyrmex_keys.abi, the one description of the C interface.

Every function of the .abi file must be declared (and nothing else), with
the same return and parameter types; every constant and status value must
be the binding's. A library of another major version, or of an older minor
version than the functions need, is refused at import.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any

from _support import BINDING_DIR

import codomyrmex_keys
from codomyrmex_keys import HashAlg, Status, _native

# In the repository (bindings/python -> abi/) or in the sdist (rust/abi/).
ABI_CANDIDATES = (BINDING_DIR.parents[1] / "abi" / "codomyrmex_keys.abi", BINDING_DIR / "rust" / "abi" / "codomyrmex_keys.abi")
ABI_FILE = next((p for p in ABI_CANDIDATES if p.is_file()), None)

# C types of the .abi file -> what the ABI cares about.
C_KINDS = {"void": "void", "bool": "bool", "size_t": "size_t", "uint32_t": "u32",
           "codomyrmex_hash_alg": "u32", "codomyrmex_status": "int", "int32_t": "int"}


def c_kind(c_type: str) -> str:
    if c_type.endswith("*"):
        return "ptr"
    if c_type not in C_KINDS:
        raise AssertionError(f"the drift test does not know the C type {c_type!r}: add it to C_KINDS")
    return C_KINDS[c_type]


def ctypes_kind(t: Any) -> str:
    if t is None:
        return "void"
    if t in (ctypes.c_void_p, ctypes.c_char_p) or isinstance(t, type(ctypes.POINTER(ctypes.c_int))):
        return "ptr"
    kinds = {ctypes.c_bool: "bool", ctypes.c_size_t: "size_t", ctypes.c_uint32: "u32", ctypes.c_int: "int"}
    if t not in kinds:
        raise AssertionError(f"the drift test does not know the ctypes type {t!r}")
    return kinds[t]


def read_abi(path: Path) -> tuple[int, dict[str, tuple[str, list[str]]], dict[str, int], dict[str, int]]:
    functions: dict[str, tuple[str, list[str]]] = {}
    defines: dict[str, int] = {}
    statuses: dict[str, int] = {}
    major = -1
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("major "):
            major = int(line.split()[1])
            continue
        key, _, value = line.partition(" = ")
        kind, name = key.split(" ", 1)
        if kind == "function":
            m = re.fullmatch(r"(.+?)\((.*)\)", value)
            assert m, line
            functions[name] = (m.group(1).strip(), [p.strip() for p in m.group(2).split(",") if p.strip()])
        elif kind == "define":
            defines[name] = int(value)
        elif kind == "enum":
            statuses[name] = int(value)
    return major, functions, defines, statuses


@unittest.skipIf(ABI_FILE is None, "abi/codomyrmex_keys.abi is not beside this copy of the tests")
class AbiDrift(unittest.TestCase):
    def setUp(self) -> None:
        assert ABI_FILE is not None
        self.major, self.functions, self.defines, self.statuses = read_abi(ABI_FILE)

    def test_major_version(self) -> None:
        self.assertEqual(self.major, _native.ABI_MAJOR)

    def test_function_table(self) -> None:
        table = {name: (ret, args) for name, ret, args in _native._PROTOTYPES}
        self.assertEqual(sorted(set(self.functions) - set(table)), [], "in the .abi file, not declared here")
        self.assertEqual(sorted(set(table) - set(self.functions)), [], "declared here, not in the .abi file")
        for name, (ret, params) in self.functions.items():
            with self.subTest(function=name):
                got_ret, got_args = table[name]
                self.assertEqual(ctypes_kind(got_ret), c_kind(ret), "return type")
                self.assertEqual([ctypes_kind(a) for a in got_args], [c_kind(p) for p in params], "parameters")

    def test_constants(self) -> None:
        for name, value in self.defines.items():
            short = name.removeprefix("CODOMYRMEX_")
            with self.subTest(constant=name):
                if short in HashAlg.__members__:
                    self.assertEqual(HashAlg[short], value)
                else:
                    self.assertEqual(getattr(codomyrmex_keys, short), value)

    def test_status_values(self) -> None:
        expected = {name.removeprefix("CODOMYRMEX_").removeprefix("ERR_"): v for name, v in self.statuses.items()}
        self.assertEqual({s.name: int(s) for s in Status}, expected)


@unittest.skipIf(shutil.which("cc") is None, "no C compiler to build a library of another version")
class LibraryVersion(unittest.TestCase):
    def import_with_version(self, version: str) -> subprocess.CompletedProcess[str]:
        """Imports the package in a child process over a fake library that reports ``version``."""
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "fake.c"
            src.write_text(f'const char *codomyrmex_version(void) {{ return "{version}"; }}\n')
            lib = Path(tmp) / "libcodomyrmex_keys.so.1"
            subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
            env = dict(os.environ, CODOMYRMEX_KEYS_LIB_DIR=tmp, PYTHONPATH=str(BINDING_DIR))
            return subprocess.run([sys.executable, "-c", "import codomyrmex_keys"], env=env, capture_output=True, text=True)

    def test_another_major_version_is_refused(self) -> None:
        proc = self.import_with_version("2.0.0")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ImportError", proc.stderr)
        self.assertIn("is version 2.0.0 of the library, but this package needs version 1.x", proc.stderr)

    def test_an_older_minor_version_is_refused(self) -> None:
        self.assertEqual(_native.ABI_MINOR, 1)
        proc = self.import_with_version("1.0.3")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("is version 1.0.3 of the library, but this package needs version 1.1 or later", proc.stderr)


if __name__ == "__main__":
    unittest.main()
