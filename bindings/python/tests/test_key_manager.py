"""The key manager on a temporary directory: the whole §7 and §8 surface."""

from __future__ import annotations

import os
import stat
import struct
import threading
import unittest
import warnings
from pathlib import Path

from _support import TempDirTestCase

import codomyrmex_keys as keys
from codomyrmex_keys import HashAlg, KeyManager


class KeyManagerTest(TempDirTestCase):
    def open(self) -> KeyManager:
        km = KeyManager.open(self.key_dir)
        self.addCleanup(km.close)
        return km

    def test_open_creates_private_directory(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            self.assertEqual(stat.S_IMODE(self.key_dir.stat().st_mode), 0o700)
            self.assertEqual(km.dir, os.path.realpath(self.key_dir))
            self.assertEqual(km.list(), [])
            self.assertIn(str(self.key_dir.name), repr(km))
        self.assertTrue(km.closed)
        for path in (str(self.key_dir), os.fsencode(self.key_dir)):
            with KeyManager.open(path) as km2:
                self.assertEqual(km2.dir, os.path.realpath(self.key_dir))
        with self.assertRaises(TypeError):
            KeyManager(0)

    def test_store_get_exists_list_create_generate_delete(self) -> None:
        km = self.open()
        k1 = b"first secret key"
        km.store("alpha", k1)
        self.assertTrue(km.exists("alpha"))
        self.assertIn("alpha", km)
        self.assertFalse(km.exists("missing"))
        self.assertNotIn("missing", km)
        self.assertEqual(km.get("alpha"), k1)
        got = km.get("alpha", mutable=True)
        self.assertIsInstance(got, bytearray)
        self.assertEqual(got, k1)
        keys.secure_zero(got)
        self.assertEqual(km.current_version("alpha"), 1)
        self.assertEqual(stat.S_IMODE((self.key_dir / "alpha.key").stat().st_mode), 0o600)

        km.create("beta", bytearray(b"beta key"))
        self.assertEqual(km.get("beta"), b"beta key")
        with self.assertRaises(keys.AlreadyExistsError):
            km.create("beta", b"other")

        km.generate("gamma", 48)
        self.assertEqual(len(km.get("gamma")), 48)
        km.generate("delta")
        self.assertEqual(len(km.get("delta")), 32)
        with self.assertRaises(keys.AlreadyExistsError):
            km.generate("gamma", 16)

        self.assertEqual(km.list(), ["alpha", "beta", "delta", "gamma"])
        km.delete("beta")
        self.assertFalse(km.exists("beta"))
        with self.assertRaises(keys.NotFoundError):
            km.delete("beta")
        with self.assertRaises(keys.NotFoundError):
            km.get("beta")
        self.assertEqual(km.list(), ["alpha", "delta", "gamma"])

    def test_list_many_ids_sorted_bytewise(self) -> None:
        km = self.open()
        ids = [f"k-{(i * 37) % 60}.{'x' * i}" for i in range(60)] + ["Z", "a", "_", "0", "x" * 128]
        for key_id in ids:
            km.store(key_id, f"key {key_id}".encode())
        self.assertEqual(km.list(), sorted(ids, key=lambda s: s.encode()))

    def test_key_sizes(self) -> None:
        km = self.open()
        big = keys.random_bytes(keys.MAX_KEY_LEN)
        km.store("big", big)
        self.assertEqual(km.get("big"), big)
        km.store("one", b"\x07")
        self.assertEqual(km.get("one"), b"\x07")
        with self.assertRaises(keys.InvalidArgumentError):
            km.store("huge", b"\x01" * (keys.MAX_KEY_LEN + 1))
        with self.assertRaises(keys.InvalidArgumentError):
            km.store("empty", b"")
        with self.assertRaises(keys.InvalidArgumentError):
            km.generate("g0", 0)
        self.assertFalse(km.exists("huge"))
        self.assertFalse(km.exists("empty"))
        self.assertEqual(km.rotate("big", b"small"), big)

    def test_hmac_verify_derive_match_one_shot(self) -> None:
        km = self.open()
        key = keys.random_bytes(40)
        km.store("mac-key", key)
        for alg in (HashAlg.SHA256, HashAlg.SHA384, HashAlg.SHA512, "sha384"):
            with self.subTest(alg=alg):
                mac = km.hmac("mac-key", b"message", alg)
                self.assertEqual(mac, keys.hmac_compute(key, b"message", alg))
                km.hmac_verify("mac-key", b"message", mac, alg)
                with self.assertRaises(keys.VerifyFailedError):
                    km.hmac_verify("mac-key", b"messagE", mac, alg)
                with self.assertRaises(keys.VerifyFailedError):
                    km.hmac_verify("mac-key", b"message", mac[1:], alg)
                okm = km.derive("mac-key", 77, salt=b"salt", info=b"info", alg=alg)
                self.assertEqual(okm, keys.hkdf_derive(key, 77, salt=b"salt", info=b"info", alg=alg))
                self.assertEqual(km.derive("mac-key", 16, alg=alg), keys.hkdf_derive(key, 16, alg=alg))
                mokm = km.derive("mac-key", 16, alg=alg, mutable=True)
                self.assertIsInstance(mokm, bytearray)
                self.assertEqual(mokm, keys.hkdf_derive(key, 16, alg=alg))
        self.assertEqual(km.hmac("mac-key", b"m"), keys.hmac_compute(key, b"m", HashAlg.SHA256))
        with self.assertRaises(keys.InvalidArgumentError):
            km.derive("mac-key", 0)

    def test_rotate_versions_prune(self) -> None:
        km = self.open()
        k1, k2, k3 = b"version one", b"version two", b"version three"

        self.assertIsNone(km.rotate("fresh", k1))  # no previous key: stored as version 1
        self.assertEqual(km.current_version("fresh"), 1)

        km.store("r", k1)
        self.assertEqual(km.rotate("r", k2), k1)
        self.assertEqual(km.current_version("r"), 2)
        km.store("r", k3)  # store over an existing key keeps the old version too
        self.assertEqual(km.current_version("r"), 3)
        self.assertEqual(km.list_versions("r"), [1, 2, 3])
        self.assertEqual(km.get("r"), k3)
        self.assertEqual(km.get_version("r", 0), k3)
        self.assertEqual(km.get_version("r", 1), k1)
        self.assertEqual(km.get_version("r", 2, mutable=True), bytearray(k2))
        with self.assertRaises(keys.NotFoundError):
            km.get_version("r", 4)
        self.assertEqual(km.hmac_version("r", 1, b"m"), keys.hmac_compute(k1, b"m"))
        self.assertEqual(km.hmac_version("r", 0, b"m"), keys.hmac_compute(k3, b"m"))
        self.assertEqual(
            km.derive_version("r", 2, 99, salt=b"s", info=b"i", alg=HashAlg.SHA512),
            keys.hkdf_derive(k2, 99, salt=b"s", info=b"i", alg=HashAlg.SHA512),
        )
        self.assertEqual(km.derive_version("r", 0, 10), keys.hkdf_derive(k3, 10))
        self.assertEqual(km.list(), ["fresh", "r"])
        self.assertEqual(sorted(p.name for p in self.key_dir.glob("*.key")), ["fresh.key", "r.key"])

        old = km.rotate("r", b"version four", mutable=True)
        assert old is not None
        self.assertEqual(old, bytearray(k3))
        keys.secure_zero(old)
        self.assertEqual(km.list_versions("r"), [1, 2, 3, 4])

        km.prune("r", 2)
        self.assertEqual(km.list_versions("r"), [3, 4])
        with self.assertRaises(keys.NotFoundError):
            km.get_version("r", 1)
        with self.assertRaises(keys.NotFoundError):
            km.hmac_version("r", 1, b"m")
        with self.assertRaises(keys.InvalidArgumentError):
            km.prune("r", 0)
        km.prune("r", 1)
        self.assertEqual(km.list_versions("r"), [4])
        self.assertEqual(km.current_version("r"), 4)
        self.assertEqual(km.get("r"), b"version four")

        km.delete("r")
        with self.assertRaises(keys.NotFoundError):
            km.list_versions("r")
        with self.assertRaises(keys.NotFoundError):
            km.current_version("r")
        km.store("r", k1)  # a new id after delete starts again at version 1
        self.assertEqual(km.current_version("r"), 1)

    def test_tagged_macs_across_rotations(self) -> None:
        km = self.open()
        km.store("tk", b"tagged key one")
        tag1 = km.hmac_tagged("tk", b"data")
        self.assertEqual(len(tag1), keys.TAG_OVERHEAD + 32)
        self.assertEqual(tag1[0], 0x01)
        self.assertEqual(struct.unpack(">I", tag1[1:5])[0], 1)
        self.assertEqual(tag1[5:], keys.hmac_compute(b"tagged key one", b"data"))
        km.hmac_verify_tagged("tk", b"data", tag1)

        km.rotate("tk", b"tagged key two")
        tag2 = km.hmac_tagged("tk", b"data", HashAlg.SHA256)
        self.assertEqual(struct.unpack(">I", tag2[1:5])[0], 2)
        km.hmac_verify_tagged("tk", b"data", tag1)  # the old version is still kept
        km.hmac_verify_tagged("tk", b"data", tag2)
        with self.assertRaises(keys.VerifyFailedError):
            km.hmac_verify_tagged("tk", b"other", tag2)
        with self.assertRaises(keys.VerifyFailedError):
            km.hmac_verify_tagged("tk", b"data", tag2, HashAlg.SHA512)

        t512 = km.hmac_tagged("tk", b"data", "sha512")
        self.assertEqual(len(t512), keys.TAG_OVERHEAD + 64)
        km.hmac_verify_tagged("tk", b"data", t512, "sha512")

        def altered(tag: bytes, offset: int, value: bytes) -> bytes:
            return tag[:offset] + value + tag[offset + len(value) :]

        for bad in (
            altered(tag2, 0, b"\x02"),
            altered(tag2, 1, struct.pack(">I", 0)),
            altered(tag2, 1, struct.pack(">I", 9)),
            tag2[:20],
            b"",
        ):
            with self.assertRaises(keys.VerifyFailedError):
                km.hmac_verify_tagged("tk", b"data", bad)

        km.prune("tk", 1)
        with self.assertRaises(keys.VerifyFailedError):
            km.hmac_verify_tagged("tk", b"data", tag1)
        km.hmac_verify_tagged("tk", b"data", tag2)

        km.delete("tk")
        with self.assertRaises(keys.NotFoundError):
            km.hmac_verify_tagged("tk", b"data", tag2)

    def test_close(self) -> None:
        km = KeyManager.open(self.key_dir)
        km.store("x", b"key")
        self.assertFalse(km.closed)
        km.close()
        self.assertTrue(km.closed)
        km.close()
        self.assertEqual(repr(km), "<KeyManager (closed)>")
        for call in (lambda: km.get("x"), km.list, lambda: km.dir, lambda: km.store("y", b"k")):
            with self.assertRaises(keys.NullPointerError) as ctx:
                call()
            self.assertEqual(ctx.exception.code, "CODOMYRMEX_ERR_NULL_POINTER")

    def test_unclosed_manager_warns_like_an_unclosed_file(self) -> None:
        fds_before = len(os.listdir("/proc/self/fd"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            km = KeyManager.open(self.key_dir)
            km.store("x", b"key")
            del km  # dropped without close(): freed at once by reference counting
            closed = KeyManager.open(self.key_dir)
            closed.close()
            del closed
        leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual(len(leaks), 1, [str(w.message) for w in caught])
        self.assertIn(f"unclosed KeyManager for {str(self.key_dir)!r}", str(leaks[0].message))
        self.assertEqual(len(os.listdir("/proc/self/fd")), fds_before, "the descriptor was released")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with KeyManager.open(self.key_dir) as km2:
                km2.list()
            del km2
        self.assertEqual([w for w in caught if issubclass(w.category, ResourceWarning)], [])

    def test_two_managers_and_reopen(self) -> None:
        with KeyManager.open(self.key_dir) as a, KeyManager.open(Path(self.key_dir)) as b:
            a.store("shared", b"shared key")
            self.assertEqual(b.get("shared"), b"shared key")
            self.assertEqual(b.rotate("shared", b"second"), b"shared key")
            self.assertEqual(a.list_versions("shared"), [1, 2])
        with KeyManager.open(self.key_dir) as c:
            self.assertEqual(c.get("shared"), b"second")


class ThreadsTest(TempDirTestCase):
    def test_shared_manager_and_per_thread_errors(self) -> None:
        """One manager, many threads: rotations are serialized and each thread reads its own error."""
        errors: list[BaseException] = []
        returned: list[bytes] = []
        lock = threading.Lock()
        with KeyManager.open(self.key_dir) as km:
            km.store("counter", b"0")

            def worker(n: int) -> None:
                try:
                    for i in range(20):
                        old = km.rotate("counter", f"{n}-{i}".encode())
                        assert old is not None
                        with lock:
                            returned.append(old)
                        try:
                            km.get(f"missing-{n}")
                        except keys.NotFoundError as err:
                            # The message is this thread's, naming this thread's id.
                            if f"missing-{n}" not in err.message:
                                raise AssertionError(err.message) from None
                except BaseException as err:  # noqa: BLE001 - reported below
                    errors.append(err)

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            # Each rotation returned the key the previous one stored: none lost, none twice.
            final = km.get("counter")
            stored = {f"{n}-{i}".encode() for n in range(4) for i in range(20)}
            self.assertEqual(len(returned), 80)
            self.assertEqual(len(set(returned)), 80)
            self.assertEqual(set(returned) | {final}, stored | {b"0"})
            self.assertEqual(km.current_version("counter"), 81)

    def test_close_waits_for_calls_in_flight(self) -> None:
        km = KeyManager.open(self.key_dir)
        km.store("k", b"key")
        started = threading.Event()
        results: list[object] = []

        def worker() -> None:
            started.set()
            try:
                for _ in range(2000):
                    km.hmac("k", b"data")
                results.append("done")
            except keys.NullPointerError:
                results.append("closed")

        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        km.close()
        t.join()
        self.assertEqual(len(results), 1)
        self.assertIn(results[0], ("done", "closed"))


if __name__ == "__main__":
    unittest.main()
