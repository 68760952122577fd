"""Builds codomyrmex-keys: the ctypes package with the native library inside.

The wheel carries ``codomyrmex_keys/_lib/libcodomyrmex_keys.so.1``, which the
package loads before any system copy. It is a platform wheel tagged
``py3-none-<platform>`` (ctypes needs no particular Python ABI);
``auditwheel repair`` then gives it its manylinux tag.

Where the library comes from:

- ``$CODOMYRMEX_KEYS_PREBUILT``, when set: the path of a built
  ``libcodomyrmex_keys.so.1`` (what CI does, to reuse its one release build);
- else cargo builds it from the crate sources: ``rust/`` in an sdist, the
  repository root (two directories up) in a checkout. That needs a Rust
  toolchain (https://rustup.rs) and reaches crates.io for the dependencies.

The sdist carries those crate sources under ``rust/``, so ``pip install`` of
the sdist builds everything from source.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
SONAME = "libcodomyrmex_keys.so.1"
PREBUILT_ENV = "CODOMYRMEX_KEYS_PREBUILT"
# What cargo needs to build the library (paths relative to the crate root),
# plus the ABI description the drift test reads; declared_targets() adds
# the files of the targets Cargo.toml declares.
CRATE_FILES = ("Cargo.toml", "Cargo.lock", "LICENSE", "src", "abi")
# Where cargo looks for a declared target that names no path.
TARGET_DIRS = {"test": "tests", "bench": "benches", "example": "examples"}


def declared_targets(root: Path) -> list[str]:
    """The source file of every [[test]], [[bench]] and [[example]] of ``root``'s Cargo.toml.

    Cargo refuses a manifest whose declared targets are missing, even to
    build only the library, so the sdist carries these files (not what
    they include: they are never built from it). A target without a path is
    ``<dir>/<name>.rs`` or ``<dir>/<name>/main.rs``, as cargo looks for it.
    """
    targets = []
    for table in re.split(r"^\[", (root / "Cargo.toml").read_text(encoding="utf-8"), flags=re.M):
        kind = re.match(r"\[(test|bench|example)\]\]", table)
        path = re.search(r'^path\s*=\s*"([^"]+)"', table, re.M)
        name = re.search(r'^name\s*=\s*"([^"]+)"', table, re.M)
        if kind and path:
            targets.append(path.group(1))
        elif kind and name:
            base = f"{TARGET_DIRS[kind.group(1)]}/{name.group(1)}"
            targets.append(f"{base}.rs" if (root / f"{base}.rs").is_file() else f"{base}/main.rs")
    return targets


def crate_root() -> Path:
    """The crate sources: the sdist's copy, else the repository this file lives in."""
    in_sdist = HERE / "rust"
    if (in_sdist / "Cargo.toml").is_file():
        return in_sdist
    repo = HERE.parents[1]
    manifest = repo / "Cargo.toml"
    if manifest.is_file() and 'name = "codomyrmex_keys"' in manifest.read_text():
        return repo
    raise SystemExit("codomyrmex-keys: no crate sources (neither rust/ nor the repository root)")


def native_library(build_temp: str) -> Path:
    prebuilt = os.environ.get(PREBUILT_ENV)
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise SystemExit(f"codomyrmex-keys: ${PREBUILT_ENV}={prebuilt} is not a file")
        return path
    if shutil.which("cargo") is None:
        raise SystemExit("codomyrmex-keys: building the native library needs cargo (https://rustup.rs)")
    target = Path(build_temp).resolve() / "cargo"
    # The crate type and the SONAME cargo-c would give the library.
    subprocess.run(
        ["cargo", "rustc", "--release", "--locked", "--lib", "--crate-type", "cdylib",
         "--target-dir", str(target), "--", "-C", f"link-arg=-Wl,-soname,{SONAME}"],
        cwd=crate_root(),
        check=True,
    )
    return target / "release" / "libcodomyrmex_keys.so"


class BuildWithLibrary(build_py):
    """build_py, plus the native library copied into the package."""

    def run(self) -> None:
        super().run()
        build_temp = self.get_finalized_command("build").build_temp
        source = native_library(build_temp)
        dest = Path(self.build_lib) / "codomyrmex_keys" / "_lib" / SONAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        os.chmod(dest, 0o755)


class WithNativeLibrary(Distribution):
    """A distribution with platform code: installed into platlib, as auditwheel requires."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel for one platform, but any Python 3: the package loads the library with ctypes."""

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class SdistWithCrate(sdist):
    """The sdist, plus the crate sources under rust/ (when made from the repository)."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = crate_root()
        if root == HERE / "rust":
            return  # an sdist of an sdist: MANIFEST.in already took rust/
        for rel in (*CRATE_FILES, *declared_targets(root)):
            source, dest = root / rel, Path(base_dir) / "rust" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, dest)


setup(distclass=WithNativeLibrary, cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistWithCrate})
