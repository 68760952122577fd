"""The cross-language check (cross.sh write/verify) on a temporary directory.

With the Node binding and its npm dependencies present, Node's writer and
verifier join in, so Python verifies Node's MACs and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import subprocess
import unittest
from pathlib import Path

from _support import BINDING_DIR, TempDirTestCase

NODE_DIR = BINDING_DIR.parent / "node"


def node_available() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "koffi").is_dir()


class CrossTest(TempDirTestCase):
    def run_cross(self, binding: Path, mode: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(binding / "cross.sh"), mode, str(self.key_dir)],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=120,
            check=False,
        )

    def test_python_alone(self) -> None:
        empty = self.run_cross(BINDING_DIR, "verify")
        self.assertNotEqual(empty.returncode, 0, "verify must fail when no .mac file exists")
        self.assertEqual(self.run_cross(BINDING_DIR, "write").returncode, 0)
        self.assertEqual((self.key_dir / "cross-python.mac").read_text(), self._expected_hex("python") + "\n")
        self.assertTrue((self.key_dir / "cross-python.tag").read_text().startswith("0100000001"))
        self.assertEqual(
            (self.key_dir / "cross-python.ktag").read_text(), (self.key_dir / "cross-python.tag").read_text()
        )
        # A second write replaces the key (next version) and the files.
        self.assertEqual(self.run_cross(BINDING_DIR, "write").returncode, 0)
        self.assertTrue((self.key_dir / "cross-python.tag").read_text().startswith("0100000002"))
        self.assertTrue((self.key_dir / "cross-python.ktag").read_text().startswith("0100000002"))
        result = self.run_cross(BINDING_DIR, "verify")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(len(result.stdout.splitlines()), 1)
        self.assertRegex(result.stdout, r"^ok +python: ")

    def test_verify_reports_a_bad_mac(self) -> None:
        self.assertEqual(self.run_cross(BINDING_DIR, "write").returncode, 0)
        mac_file = self.key_dir / "cross-python.mac"
        text = mac_file.read_text()
        mac_file.write_text(("0" if text[0] != "0" else "1") + text[1:])
        result = self.run_cross(BINDING_DIR, "verify")
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"FAIL python: .*hmac_verify")
        self.assertRegex(result.stdout, r"FAIL python: .*keyring")
        (self.key_dir / "cross-python.tag").unlink()
        self.assertNotEqual(self.run_cross(BINDING_DIR, "verify").returncode, 0)

    def test_verify_reports_a_bad_keyring_tag(self) -> None:
        self.assertEqual(self.run_cross(BINDING_DIR, "write").returncode, 0)
        ktag = self.key_dir / "cross-python.ktag"
        text = ktag.read_text()
        ktag.write_text(text[:-2] + ("0" if text[-2] != "0" else "1") + "\n")
        result = self.run_cross(BINDING_DIR, "verify")
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"FAIL python: hmac_verify_tagged .ktag: .*; keyring: ")
        ktag.unlink()
        result = self.run_cross(BINDING_DIR, "verify")
        self.assertRegex(result.stdout, r"FAIL python: read .ktag: ")

    @unittest.skipUnless(node_available(), "the Node binding is not installed (run bindings/node/test.sh)")
    def test_python_and_node(self) -> None:
        for binding in (BINDING_DIR, NODE_DIR):
            result = self.run_cross(binding, "write")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for binding in (BINDING_DIR, NODE_DIR):
            result = self.run_cross(binding, "verify")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            lines = result.stdout.splitlines()
            self.assertEqual(len(lines), 2, result.stdout)
            self.assertRegex(lines[0], r"^ok +node: ")
            self.assertRegex(lines[1], r"^ok +python: ")

    @staticmethod
    def _expected_hex(lang: str) -> str:
        key = f"cross-language key from {lang}".encode()
        return hmac.new(key, b"cross-language message", hashlib.sha256).hexdigest()


if __name__ == "__main__":
    unittest.main()
