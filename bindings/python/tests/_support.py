"""Shared test helpers: the import path, temporary key directories, key sources, RFC vectors."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The package lives one directory up (bindings/python/codomyrmex_keys).
BINDING_DIR = Path(__file__).resolve().parents[1]
if str(BINDING_DIR) not in sys.path:
    sys.path.insert(0, str(BINDING_DIR))


import codomyrmex_keys as keys  # noqa: E402 - after the path is set


class TempDirTestCase(unittest.TestCase):
    """A test case with a fresh temporary directory ``self.root``; ``self.key_dir`` is inside it."""

    root: Path
    key_dir: Path

    def setUp(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="codomyrmex-py-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        self.key_dir = self.root / "keys"

    def assert_error(
        self, call: Callable[[], Any], cls: type[keys.CodomyrmexError], status: int, names: str | None = None
    ) -> keys.CodomyrmexError:
        """Runs ``call``, which must raise ``cls`` with ``status`` and a one-line message naming ``names``."""
        with self.assertRaises(cls) as ctx:
            call()
        err = ctx.exception
        self.assertIsInstance(err, keys.CodomyrmexError)
        self.assertEqual(err.status, status)
        self.assertEqual(err.code, keys.status_name(status))
        self.assertTrue(err.message)
        self.assertNotIn("\n", err.message)
        self.assertIn(err.message, str(err))
        if names is not None:
            self.assertIn(names, err.message)
        return err


def write_private(path: Path, data: bytes) -> None:
    """Writes ``data`` to a new file ``path`` of mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_kek(path: Path) -> bytes:
    """A key-encryption key: 32 random bytes in a private file, as ``codomyrmex-keys kek generate`` makes."""
    kek = os.urandom(32)
    write_private(path, kek)
    return kek


def kek_id(kek: bytes) -> str:
    """The id the library gives a KEK: HMAC-SHA256(KEK, "codomyrmex_keys kek id v1"), 8 bytes, in hex."""
    return keys.hmac_compute(kek, b"codomyrmex_keys kek id v1")[:8].hex()


def tagged(version: int, key: bytes, data: bytes) -> bytes:
    """The tagged MAC (HMAC-SHA256) of ``data`` with version ``version``, computed here."""
    return b"\x01" + version.to_bytes(4, "big") + keys.hmac_compute(key, data)


def secret_volume(mount: Path, versions: dict[str, list[bytes]], stamp: str = "2024_05_01_12_00_00.000000001") -> None:
    """Fills ``mount`` as the kubelet fills a Secret volume, then swaps ``..data`` to it.

    ``versions[id]`` lists the key's versions, oldest first: the last is
    ``<id>.key``, the others ``<id>.key.v<N>``. Files are 0644 in a
    ``..<stamp>`` directory of mode 0755; ``..data`` links to it, and every
    name at the top links through ``..data``.
    """
    mount.mkdir(mode=0o755, exist_ok=True)
    mount.chmod(0o1777)  # an emptyDir-style tmpfs mount point: world-writable, sticky
    data_dir = mount / f"..{stamp}"
    data_dir.mkdir(mode=0o755)
    names = []
    for key_id, keys_of_id in versions.items():
        for number, key in enumerate(keys_of_id, start=1):
            name = f"{key_id}.key" if number == len(keys_of_id) else f"{key_id}.key.v{number}"
            (data_dir / name).write_bytes(key)
            (data_dir / name).chmod(0o644)
            names.append(name)
    tmp_link = mount / "..data_tmp"
    tmp_link.symlink_to(data_dir.name)
    tmp_link.replace(mount / "..data")  # the atomic swap
    for name in names:
        if not (mount / name).is_symlink():
            (mount / name).symlink_to(f"..data/{name}")


@contextmanager
def hold_lock(key_dir: Path) -> Iterator[None]:
    """Holds the writers' lock file of ``key_dir`` (a record lock over the whole ``.lock`` file)."""
    with open(key_dir / ".lock", "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.lockf(f, fcntl.LOCK_UN)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every regular file under ``root``: its content and modification time, by relative path."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()
    }


def files_containing(root: Path, secret: bytes) -> list[str]:
    """The files under ``root`` whose bytes contain ``secret``."""
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


@dataclass(frozen=True)
class Rfc4231Case:
    number: int
    key: bytes
    data: bytes
    #: Expected HMAC-SHA-256, -384, -512 in hex (case 5: the leftmost 128 bits).
    macs: tuple[str, str, str]
    truncated: bool = False


RFC4231 = (
    Rfc4231Case(
        1,
        b"\x0b" * 20,
        b"Hi There",
        (
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
    ),
    Rfc4231Case(
        2,
        b"Jefe",
        b"what do ya want for nothing?",
        (
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
    ),
    Rfc4231Case(
        3,
        b"\xaa" * 20,
        b"\xdd" * 50,
        (
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
            "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        ),
    ),
    Rfc4231Case(
        4,
        bytes(range(0x01, 0x1A)),
        b"\xcd" * 50,
        (
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
            "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        ),
    ),
    Rfc4231Case(
        5,
        b"\x0c" * 20,
        b"Test With Truncation",
        (
            "a3b6167473100ee06e0c796c2955552b",
            "3abf34c3503b2a23a46efc619baef897",
            "415fad6271580a531d4179bc891d87a6",
        ),
        truncated=True,
    ),
    Rfc4231Case(
        6,
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        (
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
            "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ),
    ),
    Rfc4231Case(
        7,
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.",
        (
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
            "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
        ),
    ),
)


@dataclass(frozen=True)
class Rfc5869Case:
    number: int
    ikm: bytes
    salt: bytes
    info: bytes
    prk: str
    okm: str


RFC5869 = (
    Rfc5869Case(
        1,
        b"\x0b" * 22,
        bytes(range(0x00, 0x0D)),
        bytes(range(0xF0, 0xFA)),
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    Rfc5869Case(
        2,
        bytes(range(0x00, 0x50)),
        bytes(range(0x60, 0xB0)),
        bytes(range(0xB0, 0x100)),
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    Rfc5869Case(
        3,
        b"\x0b" * 22,
        b"",
        b"",
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
)
