"""Statuses become exceptions carrying the library's message, read on the calling thread."""

from __future__ import annotations

import os
import pickle
import unittest
from collections.abc import Callable
from functools import partial
from typing import Any

from _support import TempDirTestCase

import codomyrmex_keys as keys
from codomyrmex_keys import KeyManager


class ErrorsTest(TempDirTestCase):
    def open(self) -> KeyManager:
        km = KeyManager.open(self.key_dir)
        self.addCleanup(km.close)
        return km

    def test_invalid_key_ids(self) -> None:
        km = self.open()
        bad = [
            "",
            "/",
            "a/b",
            "..",
            ".hidden",
            ".",
            "a b",
            "a\\b",
            "é",
            "k\u00e9y",
            "x" * 129,
            "a\0b",
            "tab\t",
            "\udc80",
        ]
        for key_id in bad:
            with self.subTest(key_id=key_id):
                self.assert_error(partial(km.store, key_id, b"k"), keys.InvalidKeyIdError, 3)
                self.assert_error(partial(km.get, key_id), keys.InvalidKeyIdError, 3)
                self.assert_error(partial(km.exists, key_id), keys.InvalidKeyIdError, 3)
                self.assert_error(partial(km.hmac, key_id, b"d"), keys.InvalidKeyIdError, 3)
                self.assert_error(partial(km.delete, key_id), keys.InvalidKeyIdError, 3)
        err = self.assert_error(lambda: km.get("a/b"), keys.InvalidKeyIdError, 3)
        self.assertIn("a/b", err.message)
        self.assertEqual(keys.last_error_message(), err.message)
        self.assertIsInstance(err, ValueError)
        km.store("x" * 128, b"k")
        km.store("AZaz09._-", b"k")
        self.assertEqual(km.list(), ["AZaz09._-", "x" * 128])
        files = sorted(p for p in os.listdir(self.key_dir) if not p.startswith("."))
        self.assertEqual(files, ["AZaz09._-.key", "x" * 128 + ".key"])
        with self.assertRaises(TypeError):
            km.get(42)  # type: ignore[call-overload]

    def test_unknown_algorithms(self) -> None:
        km = self.open()
        km.store("k", b"key")
        err = self.assert_error(lambda: keys.hmac_compute(b"k", b"d", 99), keys.UnsupportedAlgorithmError, 4)
        self.assertIn("99", err.message)
        for alg in (0, -1, 2**32, "md5", "sha256\0"):
            with self.subTest(alg=alg):
                self.assert_error(partial(keys.hmac_compute, b"k", b"d", alg), keys.UnsupportedAlgorithmError, 4)
        calls: list[Callable[[], Any]] = [
            lambda: keys.hmac_verify(b"k", b"d", bytes(32), 99),
            lambda: keys.hkdf_derive(b"ikm", 10, alg=99),
            lambda: keys.hkdf_extract(b"ikm", alg=99),
            lambda: keys.hkdf_expand(bytes(64), 10, alg=99),
            lambda: keys.Hmac(b"k", 99),
            lambda: km.hmac("k", b"d", 99),
            lambda: km.hmac_verify("k", b"d", bytes(32), 99),
            lambda: km.derive("k", 10, alg=99),
            lambda: km.hmac_tagged("k", b"d", 99),
            lambda: km.hmac_verify_tagged("k", b"d", bytes(37), 99),
            lambda: km.hmac_version("k", 1, b"d", 99),
            lambda: km.derive_version("k", 1, 10, alg=99),
        ]
        for call in calls:
            self.assert_error(call, keys.UnsupportedAlgorithmError, keys.Status.UNSUPPORTED_ALGORITHM)
        with self.assertRaises(TypeError):
            keys.hmac_compute(b"k", b"d", 1.0)  # type: ignore[arg-type]

    def test_not_found_already_exists_verify_failed(self) -> None:
        km = self.open()
        calls: list[Callable[[], Any]] = [
            lambda: km.get("nope"),
            lambda: km.delete("nope"),
            lambda: km.hmac("nope", b"d"),
            lambda: km.hmac_verify("nope", b"d", bytes(32)),
            lambda: km.derive("nope", 8),
            lambda: km.current_version("nope"),
            lambda: km.get_version("nope", 1),
            lambda: km.list_versions("nope"),
            lambda: km.prune("nope", 1),
            lambda: km.hmac_version("nope", 1, b"d"),
            lambda: km.derive_version("nope", 1, 8),
            lambda: km.hmac_tagged("nope", b"d"),
            lambda: km.hmac_verify_tagged("nope", b"d", bytes(37)),
        ]
        for call in calls:
            err = self.assert_error(call, keys.NotFoundError, keys.Status.NOT_FOUND)
            self.assertIn("nope", err.message)
        km.create("here", b"k")
        err = self.assert_error(lambda: km.create("here", b"k2"), keys.AlreadyExistsError, keys.Status.ALREADY_EXISTS)
        self.assertIn("here", err.message)
        self.assert_error(lambda: km.generate("here", 16), keys.AlreadyExistsError, 7)
        self.assertEqual(km.get("here"), b"k")

        mac = keys.hmac_compute(b"k", b"d")
        flipped = mac[:-1] + bytes([mac[-1] ^ 1])
        self.assert_error(lambda: keys.hmac_verify(b"k", b"d", flipped), keys.VerifyFailedError, 8)
        self.assert_error(lambda: keys.hmac_verify(b"k", b"d", b""), keys.VerifyFailedError, 8)
        self.assert_error(lambda: keys.hmac_verify(b"k", b"d", mac + b"\0"), keys.VerifyFailedError, 8)
        self.assert_error(lambda: km.hmac_verify("here", b"d", flipped), keys.VerifyFailedError, 8)
        with keys.Hmac(b"k") as stream:
            self.assert_error(lambda: stream.update(b"d").finish_verify(flipped), keys.VerifyFailedError, 8)

    def test_directory_and_file_problems(self) -> None:
        a_file = self.root / "a-file"
        a_file.write_bytes(b"x")
        err = self.assert_error(lambda: KeyManager.open(a_file), keys.IoError, keys.Status.IO)
        self.assertIn("a-file", err.message)
        self.assert_error(lambda: KeyManager.open(""), keys.InvalidArgumentError, keys.Status.INVALID_ARGUMENT)
        self.assert_error(lambda: KeyManager.open("a\0b"), keys.InvalidArgumentError, 2)

        loose = self.root / "loose"
        loose.mkdir(mode=0o700)
        loose.chmod(0o777)
        self.assert_error(
            lambda: KeyManager.open(loose), keys.InsecurePermissionsError, keys.Status.INSECURE_PERMISSIONS
        )
        (self.root / "target").mkdir(mode=0o700)
        (self.root / "link").symlink_to(self.root / "target")
        self.assert_error(lambda: KeyManager.open(self.root / "link"), keys.InsecurePermissionsError, 10)

        km = self.open()
        km.store("open", b"k")
        (self.key_dir / "open.key").chmod(0o644)
        self.assert_error(lambda: km.get("open"), keys.InsecurePermissionsError, 10)
        fd = os.open(self.key_dir / "empty.key", os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        self.assert_error(lambda: km.get("empty"), keys.CorruptError, keys.Status.CORRUPT)
        (self.key_dir / "dir.key").mkdir(mode=0o700)
        self.assert_error(lambda: km.get("dir"), keys.CorruptError, 11)

    def test_argument_checks_made_here(self) -> None:
        km = self.open()
        km.store("k", b"key")
        self.assert_error(lambda: km.get_version("k", -1), keys.InvalidArgumentError, 2)
        self.assert_error(lambda: km.get_version("k", 2**32), keys.InvalidArgumentError, 2)
        self.assert_error(lambda: km.prune("k", -1), keys.InvalidArgumentError, 2)
        self.assert_error(lambda: km.generate("g", -5), keys.InvalidArgumentError, 2)
        self.assert_error(lambda: keys.hkdf_derive(b"ikm", 10**9), keys.InvalidArgumentError, 2)

    def test_exception_objects(self) -> None:
        e = keys.CodomyrmexError(6, "some message")
        self.assertEqual((e.status, e.code, e.message), (6, "CODOMYRMEX_ERR_NOT_FOUND", "some message"))
        self.assertEqual(str(e), "some message [CODOMYRMEX_ERR_NOT_FOUND]")
        self.assertEqual(keys.CodomyrmexError(77).code, "CODOMYRMEX_UNKNOWN_STATUS")
        self.assertEqual(keys.CodomyrmexError(8).message, "CODOMYRMEX_ERR_VERIFY_FAILED")
        for cls in (keys.InvalidArgumentError, keys.InvalidKeyIdError, keys.UnsupportedAlgorithmError):
            self.assertTrue(issubclass(cls, ValueError))
        try:
            keys.hmac_compute(b"", b"", 42)
        except keys.UnsupportedAlgorithmError as err:
            keys.hmac_compute(b"", b"")  # a later success leaves the message alone
            self.assertEqual(keys.last_error_message(), err.message)
            copy = pickle.loads(pickle.dumps(err))
            self.assertIs(type(copy), keys.UnsupportedAlgorithmError)
            self.assertEqual((copy.status, copy.message), (err.status, err.message))
        else:
            self.fail("expected UnsupportedAlgorithmError")


if __name__ == "__main__":
    unittest.main()
