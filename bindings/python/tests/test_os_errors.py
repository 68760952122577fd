"""The errno behind a failure (codomyrmex_last_os_error) on the exception, as OSError subclasses carry it."""

from __future__ import annotations

import errno
import pickle
import time
import unittest
from pathlib import Path

from _support import TempDirTestCase, hold_lock

import codomyrmex_keys as keys
from codomyrmex_keys import KeyManager, OpenOptions


def sysfs_writable_mount() -> bool:
    """Whether /sys is a read-write sysfs, where mkdir fails with EPERM even for root."""
    try:
        mounts = Path("/proc/self/mounts").read_text()
    except OSError:
        return False
    return any(f.split()[1:3] == ["/sys", "sysfs"] and "rw" in f.split()[3].split(",") for f in mounts.splitlines())


class OsErrorsTest(TempDirTestCase):
    def test_path_through_a_regular_file_is_not_a_directory(self) -> None:
        (self.root / "plain-file").write_bytes(b"x")
        for open_ in (KeyManager.open, KeyManager.open_with):
            with self.subTest(open=open_.__name__):
                err = self.assert_error(
                    lambda: open_(self.root / "plain-file" / "keys"), keys.IoError, keys.Status.IO, "plain-file"
                )
                assert isinstance(err, NotADirectoryError)
                self.assertEqual(err.errno, errno.ENOTDIR)
                self.assertEqual(err.strerror, "Not a directory")
                self.assertEqual(keys.last_os_error(), errno.ENOTDIR)
        with self.assertRaises(NotADirectoryError):  # as around open()
            KeyManager.open(self.root / "plain-file" / "keys")

    def test_read_only_open_of_a_missing_directory_creates_nothing(self) -> None:
        missing = self.root / "missing" / "keys"
        err = self.assert_error(
            lambda: KeyManager.open_with(missing, OpenOptions(read_only=True)), keys.IoError, 9, "missing"
        )
        self.assertIsInstance(err, FileNotFoundError)
        self.assertEqual(err.errno, errno.ENOENT)
        self.assertFalse((self.root / "missing").exists())

    @unittest.skipUnless(sysfs_writable_mount(), "/sys is not a read-write sysfs mount")
    def test_a_directory_nobody_may_create_is_a_permission_error(self) -> None:
        # sysfs refuses mkdir to every user, root included (EPERM; EACCES for others).
        err = self.assert_error(
            lambda: KeyManager.open("/sys/codomyrmex-keys-test/keys"), keys.IoError, 9, "/sys/codomyrmex-keys-test"
        )
        self.assertIsInstance(err, PermissionError)
        self.assertIn(err.errno, (errno.EPERM, errno.EACCES))

    def test_lock_timeout_is_a_timeout_error(self) -> None:
        with KeyManager.open_with(self.key_dir, OpenOptions(lock_timeout_ms=100)) as km:
            km.store("k", b"first")
            with hold_lock(self.key_dir):
                started = time.monotonic()
                err = self.assert_error(lambda: km.store("k", b"second"), keys.IoError, 9, "timed out waiting for the lock")
                waited = time.monotonic() - started
            self.assertIn("'k'", err.message)
            self.assertIsInstance(err, TimeoutError)
            self.assertEqual(err.errno, errno.ETIMEDOUT)
            self.assertGreaterEqual(waited, 0.09)
            self.assertLess(waited, 10, "the 30 s default was used")
            self.assertEqual(km.get("k"), b"first")
            km.store("k", b"second")  # the lock is free again
            self.assertEqual(km.get("k"), b"second")

    def test_library_verdicts_carry_no_errno(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            err = self.assert_error(lambda: km.get("absent"), keys.NotFoundError, 6, "absent")
        self.assertIsNone(err.errno)
        self.assertNotIsInstance(err, OSError)
        self.assertIsNone(keys.last_os_error())

    def test_errno_survives_pickling(self) -> None:
        (self.root / "f").write_bytes(b"")
        with self.assertRaises(keys.IoError) as ctx:
            KeyManager.open(self.root / "f" / "keys")
        copy = pickle.loads(pickle.dumps(ctx.exception))
        self.assertIsInstance(copy, keys.IoError)
        self.assertIsInstance(copy, NotADirectoryError)
        self.assertEqual((copy.status, copy.message, copy.errno), (9, ctx.exception.message, errno.ENOTDIR))
        self.assertIs(type(copy), type(ctx.exception))
        self.assertEqual(type(copy).__name__, "IoError")

    def test_constructed_errors(self) -> None:
        err = keys.IoError(keys.Status.IO, "disk full", errno.ENOSPC)
        self.assertIsInstance(err, OSError)
        self.assertEqual((err.errno, err.strerror), (errno.ENOSPC, "No space left on device"))
        self.assertIsNone(keys.IoError(keys.Status.IO, "no errno").errno)
        self.assertIsNone(keys.NotFoundError(keys.Status.NOT_FOUND, "gone", 0).errno)


if __name__ == "__main__":
    unittest.main()
