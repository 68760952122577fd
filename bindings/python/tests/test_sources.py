"""KeyManager.open_with: locations, open options and mounted sources (C contract §9)."""

from __future__ import annotations

import dataclasses
import os
import unittest
from pathlib import Path

from _support import TempDirTestCase, secret_volume, tagged, tree

import codomyrmex_keys as keys
from codomyrmex_keys import HashAlg, KeyManager, OpenOptions
from codomyrmex_keys import options as options_module


class OpenWithTest(TempDirTestCase):
    def test_a_path_and_no_options_is_open(self) -> None:
        with KeyManager.open_with(self.key_dir) as km:
            km.store("k", b"key")
            self.assertEqual(km.dir, os.path.realpath(self.key_dir))
        with KeyManager.open_with(str(self.key_dir), OpenOptions()) as km:
            self.assertEqual(km.get("k"), b"key")

    def test_unknown_schemes_are_invalid(self) -> None:
        for location in ("consul://127.0.0.1:8500", "vault:secret/app", "a:b"):
            with self.subTest(location=location):
                self.assert_error(
                    lambda: KeyManager.open_with(location), keys.InvalidArgumentError, 2, location.split(":")[0]
                )
        self.assertEqual(sorted(os.listdir(self.root)), [])

    def test_a_path_object_is_always_a_directory(self) -> None:
        os.chdir(self.root)
        self.addCleanup(os.chdir, Path(__file__).parent)
        with KeyManager.open_with(Path("a:b")) as km:  # a directory named a:b, not the scheme a:
            km.store("k", b"key")
        self.assertTrue((self.root / "a:b" / "k.key").is_file())

    def test_read_only_writes_fail_and_touch_nothing(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("k", b"version one")
            km.rotate("k", b"version two")
            km.stage("k", b"staged three")
        before = tree(self.key_dir)
        with KeyManager.open_with(self.key_dir, OpenOptions(read_only=True)) as km:
            writes = {
                "store": lambda: km.store("k", b"x"),
                "create": lambda: km.create("new", b"x"),
                "generate": lambda: km.generate("new"),
                "rotate": lambda: km.rotate("k", b"x"),
                "delete": lambda: km.delete("k"),
                "prune": lambda: km.prune("k", 1),
                "stage": lambda: km.stage("k", b"x"),
                "stage_generate": lambda: km.stage_generate("k"),
                "promote": lambda: km.promote("k", 3),
            }
            for name, write in writes.items():
                with self.subTest(write=name):
                    err = self.assert_error(write, keys.InvalidArgumentError, 2, "read-only key source")
                    self.assertRegex(err.message, "'(k|new)'")
            self.assert_error(km.seal_all, keys.InvalidArgumentError, 2, "read-only key source")
            self.assertEqual(km.get("k"), b"version two")  # reads work
            self.assertEqual(km.list_versions("k"), [1, 2, 3])
        self.assertEqual(tree(self.key_dir), before)

    def test_trusted_uid_option_is_checked_and_accepted(self) -> None:
        with KeyManager.open_with(self.key_dir, OpenOptions(trusted_uid=65534)) as km:
            km.store("k", b"key")  # a private directory ignores it
        self.assert_error(
            lambda: KeyManager.open_with(self.key_dir, OpenOptions(trusted_uid=2**32)),
            keys.InvalidArgumentError,
            2,
            "trusted_uid",
        )

    def test_option_values_are_checked_here(self) -> None:
        bad: list[tuple[OpenOptions, type[Exception], str]] = [
            (OpenOptions(read_only=1), TypeError, "read_only"),  # type: ignore[arg-type]
            (OpenOptions(lock_timeout_ms=-1), keys.InvalidArgumentError, "lock_timeout_ms"),
            (OpenOptions(kek_credential="a\0b"), keys.InvalidArgumentError, "kek_credential"),
            (OpenOptions(kek_file="a\0b"), keys.InvalidArgumentError, "kek_file"),
        ]
        for opts, cls, name in bad:
            with self.subTest(options=opts):
                with self.assertRaises(cls) as ctx:
                    KeyManager.open_with(self.key_dir, opts)
                self.assertIn(name, str(ctx.exception))
        with self.assertRaises(TypeError):
            KeyManager.open_with(self.key_dir, {"read_only": True})  # type: ignore[arg-type]
        self.assertFalse(self.key_dir.exists())

    def test_kek_credential_name_is_checked_by_the_library(self) -> None:
        err = self.assert_error(
            lambda: KeyManager.open_with(self.key_dir, OpenOptions(kek_credential="../kek")),
            keys.InvalidArgumentError,
            2,
            "../kek",
        )
        self.assertIn("credential", err.message)

    def test_every_option_has_a_setter(self) -> None:
        fields = {f.name for f in dataclasses.fields(OpenOptions)}
        self.assertEqual(fields, set(options_module._SETTERS))
        with self.assertRaises(dataclasses.FrozenInstanceError):
            OpenOptions().read_only = True  # type: ignore[misc]


class MountedSourceTest(TempDirTestCase):
    """A Kubernetes Secret volume: ``..<timestamp>/`` files, ``..data`` link, ``<id>.key -> ..data/<id>.key``."""

    OLD = b"api key, version 1"
    NEW = b"api key, version 2"

    def setUp(self) -> None:
        super().setUp()
        self.mount = self.root / "secret"
        secret_volume(self.mount, {"api": [self.OLD, self.NEW], "db": [b"database key"]})

    def open(self, **options: object) -> KeyManager:
        km = KeyManager.open_with(f"mounted:{self.mount}", OpenOptions(**options) if options else None)  # type: ignore[arg-type]
        self.addCleanup(km.close)
        return km

    def test_reads_keys_and_older_versions(self) -> None:
        km = self.open()
        self.assertEqual(km.dir, str(self.mount))
        self.assertEqual(km.list(), ["api", "db"])
        self.assertEqual(km.get("api"), self.NEW)
        self.assertEqual(km.current_version("api"), 2)
        self.assertEqual(km.list_versions("api"), [1, 2])
        self.assertEqual(km.get_version("api", 1), self.OLD)
        self.assertEqual(km.current_version("db"), 1)
        self.assertEqual(km.hmac("api", b"m", HashAlg.SHA512), keys.hmac_compute(self.NEW, b"m", HashAlg.SHA512))
        km.hmac_verify_tagged("api", b"message", tagged(1, self.OLD, b"message"))  # made before the rollout
        km.hmac_verify_tagged("api", b"message", km.hmac_tagged("api", b"message"))
        self.assertEqual(km.hmac_tagged("api", b"message"), tagged(2, self.NEW, b"message"))
        self.assert_error(
            lambda: km.hmac_verify_tagged("api", b"message", tagged(1, self.NEW, b"message")),
            keys.VerifyFailedError,
            8,
            "MAC",
        )

    def test_writes_are_refused(self) -> None:
        km = self.open()
        before = tree(self.mount)
        for name, write in {
            "store": lambda: km.store("api", b"x"),
            "create": lambda: km.create("new", b"x"),
            "rotate": lambda: km.rotate("api", b"x"),
            "delete": lambda: km.delete("db"),
            "prune": lambda: km.prune("api", 1),
            "stage": lambda: km.stage("api", b"x"),
            "promote": lambda: km.promote("api", 2),
        }.items():
            with self.subTest(write=name):
                self.assert_error(write, keys.InvalidArgumentError, 2, "read-only key source")
        self.assertEqual(tree(self.mount), before)

    def test_an_update_is_seen_by_the_next_call(self) -> None:
        km = self.open()
        with km.load("api") as ring:
            secret_volume(
                self.mount, {"api": [self.OLD, self.NEW, b"api key, version 3"]}, stamp="2024_06_01_00_00_00.0"
            )
            self.assertEqual(km.get("api"), b"api key, version 3")
            self.assertEqual(km.current_version("api"), 3)
            self.assertTrue(ring.refresh())
            self.assertEqual(ring.current_version(), 3)

    def test_untrusted_owner_unless_trusted_uid(self) -> None:
        data_file = next(self.mount.glob("..2024*/db.key"))
        os.chown(data_file, 65534, 65534)
        err = self.assert_error(lambda: self.open().get("db"), keys.InsecurePermissionsError, 10, "db")
        self.assertIn("65534", err.message)
        self.assertEqual(self.open(trusted_uid=65534).get("db"), b"database key")

    def test_a_link_leading_outside_is_refused(self) -> None:
        outside = self.root / "outside.key"
        outside.write_bytes(b"not in the source")
        (next(self.mount.glob("..2024*")) / "evil.key").symlink_to(outside)
        err = self.assert_error(lambda: self.open().get("evil"), keys.InsecurePermissionsError, 10, "evil")
        self.assertIn("leads outside the mounted source", err.message)
        self.assertIsInstance(err, OSError)  # the kernel's EXDEV is behind it
        self.assertEqual(err.errno, 18)


if __name__ == "__main__":
    unittest.main()
