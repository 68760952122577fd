"""Keyrings: every version of a key in memory (C contract §10)."""

from __future__ import annotations

import threading
import time
import unittest
import warnings

from _support import TempDirTestCase, tagged

import codomyrmex_keys as keys
from codomyrmex_keys import HashAlg, KeyManager, Keyring


class KeyringTest(TempDirTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.km = KeyManager.open(self.key_dir)
        self.addCleanup(self.km.close)
        self.km.store("api", b"api key one")

    def load(self, alg: keys.Algorithm = HashAlg.SHA256, refresh_ms: int = 0) -> Keyring:
        ring = self.km.load("api", alg, refresh_ms)
        self.addCleanup(ring.close)
        return ring

    def test_same_bytes_as_the_key_manager(self) -> None:
        self.km.rotate("api", b"api key two")
        for alg in (HashAlg.SHA256, HashAlg.SHA384, HashAlg.SHA512, "sha384"):
            with self.subTest(alg=alg), self.km.load("api", alg) as ring:
                self.assertEqual(ring.alg, keys.hash_alg_from_name(alg) if isinstance(alg, str) else alg)
                for data in (b"", b"message", bytearray(b"x" * 1000), memoryview(b"view")):
                    mac = ring.hmac(data)
                    self.assertEqual(mac, self.km.hmac("api", data, alg))
                    self.assertEqual(mac, keys.hmac_compute(b"api key two", data, alg))
                    tag = ring.hmac_tagged(data)
                    self.assertEqual(tag, self.km.hmac_tagged("api", data, alg))
                    self.assertEqual(tag[:5], b"\x01\x00\x00\x00\x02")
                    ring.hmac_verify(data, mac)
                    ring.hmac_verify_tagged(data, tag)
                    self.km.hmac_verify_tagged("api", data, tag, alg)

    def test_verify_rejects(self) -> None:
        ring = self.load()
        mac, tag = ring.hmac(b"data"), ring.hmac_tagged(b"data")
        flipped = mac[:-1] + bytes([mac[-1] ^ 1])
        for bad_call in (
            lambda: ring.hmac_verify(b"datA", mac),
            lambda: ring.hmac_verify(b"data", flipped),
            lambda: ring.hmac_verify(b"data", mac[:16]),
            lambda: ring.hmac_verify(b"data", b""),
            lambda: ring.hmac_verify_tagged(b"datA", tag),
            lambda: ring.hmac_verify_tagged(b"data", tag[:-1]),
            lambda: ring.hmac_verify_tagged(b"data", b"\x02" + tag[1:]),
            lambda: ring.hmac_verify_tagged(b"data", tagged(9, b"api key one", b"data")),  # a version it lacks
            lambda: ring.hmac_verify_tagged(b"data", mac),
        ):
            self.assert_error(bad_call, keys.VerifyFailedError, keys.Status.VERIFY_FAILED, "MAC")
        self.km.rotate("api", b"api key two")
        ring.refresh()
        ring.hmac_verify_tagged(b"data", tag)  # version 1 is still held
        self.assert_error(lambda: ring.hmac_verify(b"data", mac), keys.VerifyFailedError, 8, "MAC")

    def test_refresh_and_current_version(self) -> None:
        ring = self.load()
        self.assertEqual(ring.current_version(), 1)
        self.assertFalse(ring.refresh())
        self.km.rotate("api", b"api key two")
        self.assertEqual(ring.current_version(), 1)  # refresh_ms 0: only refresh() reloads
        self.assertEqual(ring.hmac(b"m"), keys.hmac_compute(b"api key one", b"m"))
        self.assertTrue(ring.refresh())
        self.assertFalse(ring.refresh())
        self.assertEqual(ring.current_version(), 2)
        self.assertEqual(ring.hmac(b"m"), keys.hmac_compute(b"api key two", b"m"))
        staged = self.km.stage("api", b"api key three")
        self.assertTrue(ring.refresh())
        self.assertEqual(ring.current_version(), 2)  # staged: verified, not used
        ring.hmac_verify_tagged(b"m", tagged(staged, b"api key three", b"m"))
        self.km.promote("api", staged)
        self.assertTrue(ring.refresh())
        self.assertEqual(ring.hmac_tagged(b"m"), tagged(3, b"api key three", b"m"))
        self.km.prune("api", 1)
        self.assertTrue(ring.refresh())
        self.assert_error(
            lambda: ring.hmac_verify_tagged(b"m", tagged(1, b"api key one", b"m")), keys.VerifyFailedError, 8, "MAC"
        )

    def test_refresh_ms_sees_a_rotation_without_refresh(self) -> None:
        ring = self.load(refresh_ms=20)
        self.assertEqual(ring.current_version(), 1)
        self.km.rotate("api", b"api key two")
        deadline = time.monotonic() + 5
        while ring.current_version() != 2:
            self.assertLess(time.monotonic(), deadline, "the rotation was not seen within 5 s")
            time.sleep(0.005)
        self.assertEqual(ring.hmac(b"m"), keys.hmac_compute(b"api key two", b"m"))

    def test_deleted_key_is_not_found(self) -> None:
        ring = self.load()
        tag = ring.hmac_tagged(b"m")
        self.km.delete("api")
        self.assert_error(ring.refresh, keys.NotFoundError, keys.Status.NOT_FOUND, "'api'")
        for call in (
            ring.current_version,
            lambda: ring.hmac(b"m"),
            lambda: ring.hmac_tagged(b"m"),
            lambda: ring.hmac_verify(b"m", bytes(32)),
            lambda: ring.hmac_verify_tagged(b"m", tag),
        ):
            # The library's message says the keyring's key was deleted (it does not repeat the id).
            self.assert_error(call, keys.NotFoundError, keys.Status.NOT_FOUND, "deleted")
        self.km.store("api", b"api key again")
        self.assertTrue(ring.refresh())  # a later refresh loads it once it exists again
        self.assertEqual(ring.current_version(), 1)
        self.assertEqual(ring.hmac(b"m"), keys.hmac_compute(b"api key again", b"m"))

    def test_load_errors(self) -> None:
        self.assert_error(lambda: self.km.load("absent"), keys.NotFoundError, 6, "absent")
        self.assert_error(lambda: self.km.load("a/b"), keys.InvalidKeyIdError, 3, "a/b")
        self.assert_error(lambda: self.km.load("api", 99), keys.UnsupportedAlgorithmError, 4, "99")
        self.assert_error(lambda: self.km.load("api", refresh_ms=-1), keys.InvalidArgumentError, 2, "refresh_ms")
        with self.assertRaises(TypeError):
            Keyring(1, "api", HashAlg.SHA256)

    def test_usable_after_its_key_manager_is_closed(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            ring = km.load("api", HashAlg.SHA512, refresh_ms=10)
        self.addCleanup(ring.close)
        self.assertTrue(km.closed)
        self.assertEqual(ring.hmac(b"m"), keys.hmac_compute(b"api key one", b"m", HashAlg.SHA512))
        self.km.rotate("api", b"api key two")  # through another manager
        self.assertTrue(ring.refresh())
        self.assertEqual(ring.current_version(), 2)
        ring.hmac_verify_tagged(b"m", self.km.hmac_tagged("api", b"m", HashAlg.SHA512))

    def test_close(self) -> None:
        ring = self.km.load("api")
        self.assertEqual(repr(ring), "<Keyring 'api' sha256>")
        ring.close()
        ring.close()
        self.assertTrue(ring.closed)
        self.assertEqual(repr(ring), "<Keyring 'api' sha256 (closed)>")
        for call in (ring.refresh, ring.current_version, lambda: ring.hmac(b"m"), lambda: ring.hmac_verify_tagged(b"m", b"t")):
            err = self.assert_error(call, keys.NullPointerError, keys.Status.NULL_POINTER, "keyring is closed")
            self.assertIsNone(err.errno)
        with self.km.load("api") as ring2:
            self.assertFalse(ring2.closed)
        self.assertTrue(ring2.closed)

    def test_unclosed_keyring_warns(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ring = self.km.load("api")
            ring.hmac(b"m")
            del ring
            with self.km.load("api") as closed:
                closed.hmac(b"m")
            del closed
        leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual(leaks, ["unclosed Keyring for 'api': call close() or use `with km.load(...)`"])

    def test_threads_share_a_keyring_while_it_reloads(self) -> None:
        """Threads MAC and verify while another rotates and refreshes: every result is checked."""
        versions = {1: b"api key one", **{v: f"api key {v}".encode() for v in range(2, 12)}}
        ring = self.load(HashAlg.SHA384, refresh_ms=1)
        failures: list[str] = []

        def signer(n: int) -> None:
            try:
                for i in range(300):
                    data = f"{n}:{i}".encode()
                    tag = ring.hmac_tagged(data)
                    version = int.from_bytes(tag[1:5], "big")
                    key = versions[version]
                    if tag[5:] != keys.hmac_compute(key, data, HashAlg.SHA384):
                        failures.append(f"thread {n}: wrong tag for version {version}")
                    ring.hmac_verify_tagged(data, tag)
                    mac = ring.hmac(data)
                    if mac not in [keys.hmac_compute(k, data, HashAlg.SHA384) for k in versions.values()]:
                        failures.append(f"thread {n}: MAC under no known version")
            except Exception as err:  # noqa: BLE001 - reported below
                failures.append(f"thread {n}: {err!r}")

        def rotator() -> None:
            try:
                for v in range(2, 12):
                    self.km.rotate("api", versions[v])
                    ring.refresh()
                    time.sleep(0.002)
            except Exception as err:  # noqa: BLE001 - reported below
                failures.append(f"rotator: {err!r}")

        threads = [threading.Thread(target=signer, args=(n,)) for n in range(6)] + [threading.Thread(target=rotator)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        ring.refresh()
        self.assertEqual(ring.current_version(), 11)


if __name__ == "__main__":
    unittest.main()
