"""codomyrmex_keys.compat against the documented behaviour of the original module.

Written from the original module's API description: ``KeyManager(key_dir=None)``
with store_key, get_key (None when missing), delete_key (bool), list_keys
(sorted ids), key_exists, rotate_key (old key or None); compute_hmac,
verify_hmac, derive_key_hkdf with their defaults; str inputs as UTF-8; a
ValueError("Unsupported algorithm ...") for any other algorithm. Then the
documented differences: the library's refusals.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import inspect
import os
import stat
import unittest
import warnings

from _support import RFC4231, RFC5869, TempDirTestCase

import codomyrmex_keys
from codomyrmex_keys import compat
from codomyrmex_keys.compat import KeyManager, compute_hmac, derive_key_hkdf, verify_hmac


class Signatures(unittest.TestCase):
    """Names, parameters and defaults are the original module's."""

    def test_public_names(self) -> None:
        self.assertEqual(sorted(compat.__all__), ["KeyManager", "compute_hmac", "derive_key_hkdf", "verify_hmac"])

    def test_parameters_and_defaults(self) -> None:
        def params(fn: object) -> list[tuple[str, object]]:
            return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]

        empty = inspect.Parameter.empty
        self.assertEqual(params(KeyManager), [("key_dir", None)])
        self.assertEqual(params(compute_hmac), [("data", empty), ("key", empty), ("algorithm", "sha256")])
        self.assertEqual(
            params(verify_hmac), [("data", empty), ("key", empty), ("mac", empty), ("algorithm", "sha256")]
        )
        self.assertEqual(
            params(derive_key_hkdf),
            [("ikm", empty), ("length", 32), ("salt", None), ("info", b""), ("algorithm", "sha256")],
        )
        for method in ("store_key", "get_key", "delete_key", "list_keys", "key_exists", "rotate_key"):
            self.assertTrue(callable(getattr(KeyManager, method)), method)


class KeyManagerBehaviour(TempDirTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.km = KeyManager(str(self.key_dir))

    def test_store_get_roundtrip_and_files(self) -> None:
        self.assertIsNone(self.km.store_key("api", b"\x00secret\xff"))  # type: ignore[func-returns-value]
        self.assertEqual(self.km.get_key("api"), b"\x00secret\xff")
        path = self.key_dir / "api.key"
        self.assertEqual(path.read_bytes(), b"\x00secret\xff")  # the original layout
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.key_dir).st_mode), 0o700)

    def test_get_missing_is_none(self) -> None:
        self.assertIsNone(self.km.get_key("missing"))

    def test_store_replaces(self) -> None:
        self.km.store_key("api", b"one")
        self.km.store_key("api", b"two")
        self.assertEqual(self.km.get_key("api"), b"two")

    def test_delete_returns_bool(self) -> None:
        self.km.store_key("api", b"k")
        self.assertIs(self.km.delete_key("api"), True)
        self.assertIs(self.km.delete_key("api"), False)
        self.assertIsNone(self.km.get_key("api"))

    def test_list_keys_sorted(self) -> None:
        self.assertEqual(self.km.list_keys(), [])
        for key_id in ("zeta", "Alpha", "mid.dle", "a-b_c"):
            self.km.store_key(key_id, b"k")
        self.assertEqual(self.km.list_keys(), sorted(["zeta", "Alpha", "mid.dle", "a-b_c"]))

    def test_key_exists(self) -> None:
        self.assertIs(self.km.key_exists("api"), False)
        self.km.store_key("api", b"k")
        self.assertIs(self.km.key_exists("api"), True)

    def test_rotate_returns_old_or_none(self) -> None:
        self.assertIsNone(self.km.rotate_key("api", b"first"))
        self.assertEqual(self.km.get_key("api"), b"first")
        self.assertEqual(self.km.rotate_key("api", b"second"), b"first")
        self.assertEqual(self.km.get_key("api"), b"second")

    def test_str_keys_are_utf8(self) -> None:
        self.km.store_key("text", "clé")
        self.assertEqual(self.km.get_key("text"), "clé".encode())
        self.assertEqual(self.km.rotate_key("text", "neu"), "clé".encode())

    def test_reads_keys_written_by_plain_files(self) -> None:
        # What the original module wrote: <key_dir>/<key_id>.key, raw bytes, 0600.
        fd = os.open(self.key_dir / "legacy.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"legacy bytes")
        os.close(fd)
        self.assertEqual(self.km.get_key("legacy"), b"legacy bytes")
        self.assertIn("legacy", self.km.list_keys())

    def test_two_managers_share_the_directory(self) -> None:
        other = KeyManager(str(self.key_dir))
        self.km.store_key("shared", b"k")
        self.assertEqual(other.get_key("shared"), b"k")

    def test_dropping_a_manager_does_not_warn(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            km = KeyManager(str(self.key_dir))
            km.store_key("x", b"k")
            del km
        self.assertEqual([w for w in caught if issubclass(w.category, ResourceWarning)], [])

    def test_default_directory(self) -> None:
        old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(self.root)
        try:
            km = KeyManager()
            km.store_key("default-dir", b"k")
            self.assertTrue((self.root / "codomyrmex_keys" / "default-dir.key").is_file())
            self.assertTrue(km.delete_key("default-dir"))
        finally:
            if old is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old


class Refusals(TempDirTestCase):
    """The documented differences: the library refuses what is unsafe."""

    def setUp(self) -> None:
        super().setUp()
        self.km = KeyManager(str(self.key_dir))

    def test_bad_key_ids(self) -> None:
        for bad in ("", "../escape", "a/b", ".hidden", "with space", "x" * 129, "é"):
            with self.subTest(key_id=bad):
                with self.assertRaises(ValueError):
                    self.km.store_key(bad, b"k")
                with self.assertRaises(codomyrmex_keys.InvalidKeyIdError):
                    self.km.get_key(bad)
        self.assertEqual(os.listdir(self.root), ["keys"])

    def test_empty_and_huge_keys(self) -> None:
        with self.assertRaises(ValueError):
            self.km.store_key("api", b"")
        with self.assertRaises(codomyrmex_keys.InvalidArgumentError):
            self.km.store_key("api", b"k" * 65537)

    def test_insecure_directory(self) -> None:
        os.chmod(self.key_dir, 0o777)
        with self.assertRaises(codomyrmex_keys.InsecurePermissionsError):
            KeyManager(str(self.key_dir))

    def test_readable_key_file(self) -> None:
        self.km.store_key("api", b"k")
        os.chmod(self.key_dir / "api.key", 0o644)
        with self.assertRaises(codomyrmex_keys.InsecurePermissionsError):
            self.km.get_key("api")


class Hmac(unittest.TestCase):
    def test_rfc4231(self) -> None:
        for case in RFC4231:
            if case.truncated:
                continue
            for name, expected in zip(("sha256", "sha384", "sha512"), case.macs):
                with self.subTest(case=case.number, algorithm=name):
                    mac = compute_hmac(case.data, case.key, name)
                    self.assertIsInstance(mac, bytes)
                    self.assertEqual(mac.hex(), expected)
                    self.assertIs(verify_hmac(case.data, case.key, mac, name), True)

    def test_default_is_sha256_and_argument_order(self) -> None:
        expected = std_hmac.new(b"key", b"data", hashlib.sha256).digest()
        self.assertEqual(compute_hmac(b"data", b"key"), expected)
        self.assertIs(verify_hmac(b"data", b"key", expected), True)

    def test_str_inputs_are_utf8(self) -> None:
        expected = std_hmac.new("ключ".encode(), "données".encode(), hashlib.sha512).digest()
        self.assertEqual(compute_hmac("données", "ключ", "sha512"), expected)
        self.assertIs(verify_hmac("données", "ключ", expected, "sha512"), True)

    def test_verify_false_never_raises(self) -> None:
        mac = compute_hmac(b"data", b"key")
        self.assertIs(verify_hmac(b"data", b"key", mac[:-1] + bytes([mac[-1] ^ 1])), False)
        self.assertIs(verify_hmac(b"other", b"key", mac), False)
        self.assertIs(verify_hmac(b"data", b"key", mac[:16]), False)
        self.assertIs(verify_hmac(b"data", b"key", b""), False)

    def test_algorithm_names(self) -> None:
        self.assertEqual(compute_hmac(b"d", b"k", "SHA384"), compute_hmac(b"d", b"k", "sha384"))
        for bad in ("md5", "sha1", "sha-256", "", "sha3_256"):
            with self.subTest(algorithm=bad):
                with self.assertRaisesRegex(ValueError, "^Unsupported algorithm"):
                    compute_hmac(b"d", b"k", bad)
                with self.assertRaisesRegex(ValueError, "^Unsupported algorithm"):
                    verify_hmac(b"d", b"k", b"m", bad)
                with self.assertRaisesRegex(ValueError, "^Unsupported algorithm"):
                    derive_key_hkdf(b"ikm", algorithm=bad)


class Hkdf(unittest.TestCase):
    def test_rfc5869(self) -> None:
        for case in RFC5869:
            with self.subTest(case=case.number):
                okm = derive_key_hkdf(case.ikm, len(case.okm) // 2, case.salt or None, case.info)
                self.assertIsInstance(okm, bytes)
                self.assertEqual(okm.hex(), case.okm)

    def test_defaults(self) -> None:
        # length 32, no salt (HashLen zero bytes), empty info, SHA-256.
        prk = std_hmac.new(b"\x00" * 32, b"ikm", hashlib.sha256).digest()
        t1 = std_hmac.new(prk, b"\x01", hashlib.sha256).digest()
        self.assertEqual(derive_key_hkdf(b"ikm"), t1)
        self.assertEqual(derive_key_hkdf("ikm", salt=b"", info=""), t1)

    def test_sha512_and_str(self) -> None:
        okm = derive_key_hkdf("secret", 100, salt="salt", info="context", algorithm="sha512")
        self.assertEqual(len(okm), 100)
        self.assertEqual(okm, derive_key_hkdf(b"secret", 100, b"salt", b"context", "sha512"))

    def test_length_limits(self) -> None:
        with self.assertRaises(ValueError):
            derive_key_hkdf(b"ikm", 0)
        with self.assertRaises(ValueError):
            derive_key_hkdf(b"ikm", 255 * 32 + 1)
        self.assertEqual(len(derive_key_hkdf(b"ikm", 255 * 32)), 255 * 32)


if __name__ == "__main__":
    unittest.main()
