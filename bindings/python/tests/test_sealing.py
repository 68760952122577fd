"""Keys sealed at rest under a key-encryption key (C contract §11)."""

from __future__ import annotations

import unittest

from _support import TempDirTestCase, files_containing, kek_id, make_kek, tree, write_private

import codomyrmex_keys as keys
from codomyrmex_keys import KeyManager, OpenOptions


class SealingTest(TempDirTestCase):
    KEYS = {"alpha": b"alpha key one, plain", "beta": b"beta key, plain on disk"}

    def setUp(self) -> None:
        super().setUp()
        self.kek = make_kek(self.root / "kek")

    def sealed(self, **options: object) -> KeyManager:
        km = KeyManager.open_with(self.key_dir, OpenOptions(kek_file=self.root / "kek", **options))  # type: ignore[arg-type]
        self.addCleanup(km.close)
        return km

    def test_files_written_with_a_kek_are_sealed_and_read_back(self) -> None:
        km = self.sealed()
        km.store("alpha", self.KEYS["alpha"])
        km.rotate("alpha", b"alpha key two, sealed")
        self.assertEqual(km.get("alpha"), b"alpha key two, sealed")
        self.assertEqual(km.get_version("alpha", 1), self.KEYS["alpha"])
        for secret in (self.KEYS["alpha"], b"alpha key two, sealed"):
            self.assertEqual(files_containing(self.key_dir, secret), [])
        key_file = (self.key_dir / "alpha.key").read_bytes()
        self.assertTrue(key_file.startswith(b"\x89CDXSEAL"))
        self.assertEqual(key_file[10:18].hex(), kek_id(self.kek))
        with self.sealed(require_sealed=True) as again:
            self.assertEqual(again.get("alpha"), b"alpha key two, sealed")

    def test_a_wrong_or_missing_kek_is_corrupt_naming_the_kek(self) -> None:
        self.sealed().store("alpha", self.KEYS["alpha"])
        other = make_kek(self.root / "other-kek")
        with KeyManager.open_with(self.key_dir, OpenOptions(kek_file=self.root / "other-kek")) as km:
            err = self.assert_error(lambda: km.get("alpha"), keys.CorruptError, 11, kek_id(self.kek))
            self.assertIn(kek_id(other), err.message)
            self.assertIn("alpha", err.message)
        with KeyManager.open(self.key_dir) as km:
            err = self.assert_error(lambda: km.get("alpha"), keys.CorruptError, 11, kek_id(self.kek))
            self.assertIn("no KEK was given", err.message)

    def test_require_sealed_refuses_a_plain_key(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("alpha", self.KEYS["alpha"])
        km = self.sealed(require_sealed=True)
        self.assert_error(lambda: km.get("alpha"), keys.CorruptError, 11, "alpha")
        self.assertEqual(self.sealed().get("alpha"), self.KEYS["alpha"])  # without it the plain key is read

    def test_seal_all_counts_then_is_idempotent(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("alpha", self.KEYS["alpha"])
            km.rotate("alpha", b"alpha key two, plain")  # alpha.key and a record of version 1
            km.store("beta", self.KEYS["beta"])
            km.stage("beta", b"beta staged, plain")  # beta.key and the staged record
        plain = {s: files_containing(self.key_dir, s) for s in (*self.KEYS.values(), b"alpha key two, plain")}
        self.assertTrue(all(plain.values()), plain)
        records = [name for name in tree(self.key_dir) if name != ".lock"]
        self.assertEqual(len(records), 5, records)  # 2 key files, 2 version records, 1 staged record
        km = self.sealed()
        self.assertEqual(km.seal_all(), 5)
        for secret in (*self.KEYS.values(), b"alpha key two, plain", b"beta staged, plain"):
            self.assertEqual(files_containing(self.key_dir, secret), [], secret)
        self.assertEqual(km.seal_all(), 0)
        with self.sealed(require_sealed=True) as again:
            self.assertEqual(again.get("alpha"), b"alpha key two, plain")
            self.assertEqual(again.get_version("alpha", 1), self.KEYS["alpha"])
            self.assertEqual(again.get_version("beta", 2), b"beta staged, plain")

    def test_seal_all_needs_a_kek(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("alpha", self.KEYS["alpha"])
            self.assert_error(km.seal_all, keys.InvalidArgumentError, 2, "without a KEK")

    def test_an_unsafe_kek_file_is_refused_at_open(self) -> None:
        (self.root / "kek").chmod(0o644)
        err = self.assert_error(self.sealed, keys.InsecurePermissionsError, 10, "kek")
        self.assertIn(str(self.root / "kek"), err.message)
        write_private(self.root / "short-kek", b"too short")
        self.assert_error(
            lambda: KeyManager.open_with(self.key_dir, OpenOptions(kek_file=self.root / "short-kek")),
            keys.InvalidArgumentError,
            2,
            "short-kek",
        )


if __name__ == "__main__":
    unittest.main()
