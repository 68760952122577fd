"""Staged rotation: stage, stage_generate, promote (C contract §12)."""

from __future__ import annotations

import unittest

from _support import TempDirTestCase, tagged

import codomyrmex_keys as keys
from codomyrmex_keys import KeyManager


class StagingTest(TempDirTestCase):
    def test_a_staged_version_verifies_but_signs_only_once_promoted(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("k", b"current key")
            staged = km.stage("k", b"staged key")
            self.assertEqual(staged, 2)
            self.assertEqual(km.list_versions("k"), [1, 2])
            self.assertEqual(km.current_version("k"), 1)
            self.assertEqual(km.get("k"), b"current key")
            self.assertEqual(km.get_version("k", 2), b"staged key")
            self.assertEqual(km.hmac("k", b"m"), keys.hmac_compute(b"current key", b"m"))
            self.assertEqual(km.hmac_tagged("k", b"m"), tagged(1, b"current key", b"m"))
            km.hmac_verify_tagged("k", b"m", tagged(2, b"staged key", b"m"))  # another host may sign with it already

            km.promote("k", staged)
            self.assertEqual(km.current_version("k"), 2)
            self.assertEqual(km.get("k"), b"staged key")
            self.assertEqual(km.hmac_tagged("k", b"m"), tagged(2, b"staged key", b"m"))
            km.hmac_verify_tagged("k", b"m", tagged(1, b"current key", b"m"))  # the replaced version is kept

    def test_stage_generate(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.generate("k")
            v = km.stage_generate("k", 48)
            self.assertEqual(v, 2)
            self.assertEqual(len(km.get_version("k", v)), 48)
            self.assertEqual(km.stage_generate("k"), 3)
            self.assertEqual(len(km.get_version("k", 3)), 32)
            self.assertEqual(km.current_version("k"), 1)
            km.promote("k", 3)
            self.assertEqual(km.current_version("k"), 3)

    def test_errors(self) -> None:
        with KeyManager.open(self.key_dir) as km:
            km.store("k", b"key")
            self.assert_error(lambda: km.stage("absent", b"x"), keys.NotFoundError, 6, "absent")
            self.assert_error(lambda: km.stage_generate("absent"), keys.NotFoundError, 6, "absent")
            err = self.assert_error(lambda: km.promote("k", 1), keys.NotFoundError, 6, "'k'")
            self.assertIn("1", err.message)
            self.assert_error(lambda: km.promote("k", 7), keys.NotFoundError, 6, "'k'")
            self.assert_error(lambda: km.promote("absent", 2), keys.NotFoundError, 6, "absent")
            self.assert_error(lambda: km.stage("k", b""), keys.InvalidArgumentError, 2, "key_len")
            self.assert_error(lambda: km.stage_generate("k", 0), keys.InvalidArgumentError, 2, "key_len")
            self.assert_error(lambda: km.stage_generate("k", -1), keys.InvalidArgumentError, 2, "length")
            self.assert_error(lambda: km.promote("k", -1), keys.InvalidArgumentError, 2, "version")
            self.assert_error(lambda: km.stage("../k", b"x"), keys.InvalidKeyIdError, 3, "../k")
            self.assertEqual(km.list_versions("k"), [1])


if __name__ == "__main__":
    unittest.main()
