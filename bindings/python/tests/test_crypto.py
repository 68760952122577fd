"""HMAC (one-shot, verify, streaming), HKDF and the library-wide functions."""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import os
import unittest
from array import array

from _support import RFC4231, RFC5869

import codomyrmex_keys as keys
from codomyrmex_keys import HashAlg

ALGS = ((HashAlg.SHA256, "sha256", 32), (HashAlg.SHA384, "sha384", 48), (HashAlg.SHA512, "sha512", 64))


def reference_hkdf(name: str, ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 with the standard library's hmac, for differential checks."""
    size = hashlib.new(name).digest_size
    prk = std_hmac.new(salt or b"\0" * size, ikm, name).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // size) + 1):
        block = std_hmac.new(prk, block + info + bytes([counter]), name).digest()
        okm += block
    return okm[:length]


class LibraryTest(unittest.TestCase):
    def test_version_and_status_names(self) -> None:
        self.assertRegex(keys.version(), r"^1\.\d+\.\d+")
        self.assertEqual(keys.status_name(0), "CODOMYRMEX_OK")
        self.assertEqual(keys.status_name(6), "CODOMYRMEX_ERR_NOT_FOUND")
        self.assertEqual(keys.status_name(13), "CODOMYRMEX_UNKNOWN_STATUS")
        self.assertEqual(keys.status_name(-1), "CODOMYRMEX_UNKNOWN_STATUS")
        self.assertEqual(keys.status_name(2**40), "CODOMYRMEX_UNKNOWN_STATUS")
        for status in keys.Status:
            expected = "CODOMYRMEX_OK" if status == 0 else f"CODOMYRMEX_ERR_{status.name}"
            self.assertEqual(keys.status_name(status), expected)
            self.assertEqual(keys.CodomyrmexError(status).code, expected)

    def test_constants(self) -> None:
        self.assertEqual(keys.MAX_DIGEST_LEN, HashAlg.SHA512.digest_size)
        self.assertEqual(keys.MAX_KEY_LEN, 65536)
        self.assertEqual(keys.MAX_KEY_ID_LEN, 128)
        self.assertEqual(keys.TAG_OVERHEAD, 5)
        self.assertIn("libcodomyrmex_keys", keys.library_path)

    def test_algorithms(self) -> None:
        for alg, name, size in ALGS:
            self.assertEqual(alg.digest_size, size)
            self.assertEqual(keys.digest_size(alg), size)
            self.assertEqual(keys.digest_size(name), size)
            self.assertIs(HashAlg.from_name(name), alg)
            self.assertIs(keys.hash_alg_from_name(name.upper()), alg)
            self.assertIs(keys.hash_alg_from_name(f"SHA-{size * 8}"), alg)
            self.assertIs(keys.hash_alg_from_name(f"sha_{size * 8}"), alg)
        with self.assertRaises(keys.UnsupportedAlgorithmError):
            keys.hash_alg_from_name("md5")
        with self.assertRaises(keys.UnsupportedAlgorithmError):
            keys.digest_size(99)

    def test_random_bytes(self) -> None:
        a, b = keys.random_bytes(32), keys.random_bytes(32)
        self.assertIsInstance(a, bytes)
        self.assertEqual(len(a), 32)
        self.assertNotEqual(a, b)
        self.assertEqual(keys.random_bytes(0), b"")
        m = keys.random_bytes(16, mutable=True)
        self.assertIsInstance(m, bytearray)
        self.assertEqual(len(m), 16)
        self.assertEqual(keys.random_bytes(0, mutable=True), bytearray())
        with self.assertRaises(keys.InvalidArgumentError):
            keys.random_bytes(-1)

    def test_secure_zero(self) -> None:
        buf = bytearray(b"secret")
        keys.secure_zero(buf)
        self.assertEqual(buf, bytearray(6))
        words = array("I", [1, 2, 3])
        keys.secure_zero(memoryview(words))
        self.assertEqual(list(words), [0, 0, 0])
        keys.secure_zero(bytearray())
        with self.assertRaises(TypeError):
            keys.secure_zero(b"immutable")  # type: ignore[arg-type]


class Rfc4231Test(unittest.TestCase):
    def test_cases(self) -> None:
        for case in RFC4231:
            for i, (alg, name, size) in enumerate(ALGS):
                with self.subTest(case=case.number, alg=name):
                    expected = bytes.fromhex(case.macs[i])
                    mac = keys.hmac_compute(case.key, case.data, alg)
                    self.assertEqual(len(mac), size)
                    self.assertEqual(keys.hmac_compute(case.key, case.data, name), mac)
                    if case.truncated:
                        self.assertEqual(mac[:16], expected)
                        # A correct prefix never verifies.
                        with self.assertRaises(keys.VerifyFailedError):
                            keys.hmac_verify(case.key, case.data, expected, alg)
                    else:
                        self.assertEqual(mac, expected)
                        keys.hmac_verify(case.key, case.data, expected, alg)
                    keys.hmac_verify(case.key, case.data, mac, alg)
                    for chunk in (1, 7, 64, 1000):
                        with keys.Hmac(case.key, alg) as stream:
                            for off in range(0, len(case.data), chunk):
                                stream.update(case.data[off : off + chunk])
                            self.assertEqual(stream.finish(), mac)
                            # finish reset the stream: the same message again.
                            stream.update(case.data).finish_verify(mac)

    def test_required_cases_present(self) -> None:
        self.assertTrue({1, 2, 4, 6, 7} <= {c.number for c in RFC4231})


class Rfc5869Test(unittest.TestCase):
    def test_cases(self) -> None:
        for case in RFC5869:
            with self.subTest(case=case.number):
                length = len(case.okm) // 2
                salt = case.salt or None
                self.assertEqual(keys.hkdf_derive(case.ikm, length, salt=salt, info=case.info).hex(), case.okm)
                self.assertEqual(
                    keys.hkdf_derive(case.ikm, length, salt=case.salt, info=case.info, alg="sha256").hex(), case.okm
                )
                prk = keys.hkdf_extract(case.ikm, salt=salt)
                self.assertEqual(prk.hex(), case.prk)
                self.assertEqual(keys.hkdf_expand(prk, length, info=case.info).hex(), case.okm)
                okm = keys.hkdf_derive(case.ikm, length, salt=salt, info=case.info, mutable=True)
                self.assertIsInstance(okm, bytearray)
                self.assertEqual(okm.hex(), case.okm)
                mprk = keys.hkdf_extract(case.ikm, salt=salt, mutable=True)
                self.assertEqual(mprk, bytearray(prk))
                mokm = keys.hkdf_expand(mprk, length, info=case.info, mutable=True)
                self.assertEqual(mokm.hex(), case.okm)


class DifferentialTest(unittest.TestCase):
    def test_against_the_standard_library(self) -> None:
        for i in range(40):
            key, data = os.urandom(i * 7), os.urandom(i * 13)
            salt, info, length = os.urandom(i), os.urandom(i % 5), 1 + i * 11
            for alg, name, _ in ALGS:
                with self.subTest(i=i, alg=name):
                    self.assertEqual(keys.hmac_compute(key, data, alg), std_hmac.new(key, data, name).digest())
                    self.assertEqual(
                        keys.hkdf_derive(key, length, salt=salt, info=info, alg=alg),
                        reference_hkdf(name, key, salt, info, length),
                    )


class InputsTest(unittest.TestCase):
    def test_buffer_kinds(self) -> None:
        mac = keys.hmac_compute(b"k", b"hello")
        self.assertEqual(keys.hmac_compute(bytearray(b"k"), bytearray(b"hello")), mac)
        self.assertEqual(keys.hmac_compute(memoryview(b"k"), memoryview(b"xhellox")[1:6]), mac)
        self.assertEqual(keys.hmac_compute(memoryview(bytearray(b"k")), b"hello"), mac)
        self.assertEqual(keys.hmac_compute(b"k", array("B", b"hello")), mac)  # type: ignore[arg-type]
        empty = std_hmac.new(b"", b"", "sha256").digest()
        self.assertEqual(keys.hmac_compute(b"", b""), empty)
        self.assertEqual(keys.hmac_compute(bytearray(), memoryview(b"")), empty)
        with self.assertRaises(TypeError):
            keys.hmac_compute("k", b"x")  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            keys.hmac_compute(b"k", 5)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            keys.hmac_compute(b"k", memoryview(b"abcdef")[::2])
        # A bytearray handed to C in place can be resized again afterwards.
        data = bytearray(b"grow")
        keys.hmac_compute(b"k", data)
        data.extend(b" more")


class HmacStreamTest(unittest.TestCase):
    def test_reuse_close_and_context_manager(self) -> None:
        stream = keys.Hmac(b"key", HashAlg.SHA512)
        m1 = stream.update(b"a").update(b"b").finish()
        self.assertEqual(m1, keys.hmac_compute(b"key", b"ab", HashAlg.SHA512))
        self.assertEqual(stream.finish(), keys.hmac_compute(b"key", b"", HashAlg.SHA512))
        stream.update(b"ab")
        with self.assertRaises(keys.VerifyFailedError):
            stream.finish_verify(m1[:32])
        stream.update(b"ab").finish_verify(m1)  # the failed verify reset the stream too
        self.assertFalse(stream.closed)
        stream.close()
        self.assertTrue(stream.closed)
        stream.close()
        with self.assertRaises(keys.NullPointerError) as ctx:
            stream.update(b"x")
        self.assertEqual(ctx.exception.status, keys.Status.NULL_POINTER)
        with keys.Hmac(b"k") as s2:
            s2.update(b"x")
        self.assertTrue(s2.closed)
        with self.assertRaises(keys.UnsupportedAlgorithmError):
            keys.Hmac(b"k", 99)


class HkdfLengthTest(unittest.TestCase):
    def test_lengths(self) -> None:
        for alg, _, size in ALGS:
            with self.subTest(alg=alg):
                self.assertEqual(len(keys.hkdf_derive(b"ikm", 1, alg=alg)), 1)
                self.assertEqual(len(keys.hkdf_derive(b"ikm", 255 * size, alg=alg)), 255 * size)
                with self.assertRaises(keys.InvalidArgumentError):
                    keys.hkdf_derive(b"ikm", 255 * size + 1, alg=alg)
                with self.assertRaises(keys.InvalidArgumentError):
                    keys.hkdf_derive(b"ikm", 0, alg=alg)
                with self.assertRaises(keys.InvalidArgumentError):
                    keys.hkdf_derive(b"ikm", 0, alg=alg, mutable=True)
                prk = keys.hkdf_extract(b"ikm", alg=alg)
                self.assertEqual(len(prk), size)
                with self.assertRaises(keys.InvalidArgumentError):
                    keys.hkdf_expand(prk[:-1], 16, alg=alg)
        with self.assertRaises(keys.InvalidArgumentError):
            keys.hkdf_derive(b"ikm", -1)
        self.assertEqual(keys.hkdf_derive(b"ikm", 32), keys.hkdf_derive(b"ikm", 32, salt=b"", info=b""))
        self.assertEqual(keys.hkdf_derive(b"ikm", 32, salt=bytes(32)), keys.hkdf_derive(b"ikm", 32))


if __name__ == "__main__":
    unittest.main()
