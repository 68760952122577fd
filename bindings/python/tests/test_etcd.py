"""The etcd open options (timeout_ms, tls, auth) and an etcd source (C contract §12).

The argument rules are tested everywhere. The source itself is tested on
the real 3-member cluster that bindings/test.sh starts (TLS with a client
certificate, authentication) and names in the CODOMYRMEX_TEST_ETCD_*
variables; without them those tests are skipped.
"""

from __future__ import annotations

import os
import socket
import time
import unittest

from _support import TempDirTestCase

import codomyrmex_keys as keys
from codomyrmex_keys import EtcdAuth, EtcdTls, HashAlg, KeyManager, OpenOptions

ENV_PREFIX = "CODOMYRMEX_TEST_ETCD_"
ENDPOINTS = os.environ.get(ENV_PREFIX + "ENDPOINTS", "")
NO_CLUSTER = f"no etcd cluster: {ENV_PREFIX}ENDPOINTS is not set (bindings/test.sh starts one and sets it)"


class EtcdOptionRulesTest(TempDirTestCase):
    def open(self, **options: object) -> KeyManager:
        return KeyManager.open_with(self.key_dir, OpenOptions(**options))  # type: ignore[arg-type]

    def test_a_timeout_of_zero_is_invalid(self) -> None:
        self.assert_error(lambda: self.open(timeout_ms=0), keys.InvalidArgumentError, 2, "timeout")
        self.assert_error(lambda: self.open(timeout_ms=-1), keys.InvalidArgumentError, 2, "timeout_ms")
        self.assertFalse(self.key_dir.exists())

    def test_a_client_certificate_needs_its_key(self) -> None:
        for tls in (EtcdTls(cert_file="client.crt"), EtcdTls(ca_file="ca.crt", key_file="client.key")):
            with self.subTest(tls=tls):
                self.assert_error(lambda: self.open(tls=tls), keys.InvalidArgumentError, 2, "cert_file, key_file")
        self.assertFalse(self.key_dir.exists())

    def test_an_empty_user_is_invalid(self) -> None:
        self.assert_error(
            lambda: self.open(auth=EtcdAuth("", "password")), keys.InvalidArgumentError, 2, "user"
        )
        self.assertFalse(self.key_dir.exists())

    def test_values_are_checked_here(self) -> None:
        bad: list[tuple[dict[str, object], type[Exception], str]] = [
            ({"tls": ("ca", None, None)}, TypeError, "tls"),
            ({"auth": ("user", "password")}, TypeError, "auth"),
            ({"auth": EtcdAuth(b"user", "password")}, TypeError, "auth.user"),  # type: ignore[arg-type]
            ({"tls": EtcdTls(ca_file="a\0b")}, keys.InvalidArgumentError, "tls.ca_file"),
            ({"tls": EtcdTls(cert_file="c", key_file="k\0")}, keys.InvalidArgumentError, "tls.key_file"),
            ({"auth": EtcdAuth("u\0", "p")}, keys.InvalidArgumentError, "auth.user"),
            ({"auth": EtcdAuth("u", "p\0")}, keys.InvalidArgumentError, "auth.password_file"),
            ({"timeout_ms": 2**32}, keys.InvalidArgumentError, "timeout_ms"),
        ]
        for options, cls, name in bad:
            with self.subTest(options=options):
                with self.assertRaises(cls) as ctx:
                    self.open(**options)
                self.assertIn(name, str(ctx.exception))
        self.assertFalse(self.key_dir.exists())

    def test_a_private_directory_ignores_them(self) -> None:
        tls = EtcdTls()
        with self.open(timeout_ms=1, tls=tls, auth=EtcdAuth("someone", self.root / "no-such-file")) as km:
            km.store("k", b"key")
            self.assertEqual(km.get("k"), b"key")


class EtcdTimeoutTest(unittest.TestCase):
    def test_a_member_that_never_answers_is_an_io_error_within_the_timeout(self) -> None:
        # A listening socket nobody accepts from: the kernel completes the
        # connection, and no answer ever comes.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            endpoint = "%s:%d" % silent.getsockname()
            with KeyManager.open_with(f"etcd://{endpoint}/bindings-python", OpenOptions(timeout_ms=600)) as km:
                started = time.monotonic()
                with self.assertRaises(keys.IoError) as ctx:
                    km.list()
                took = time.monotonic() - started
        err = ctx.exception
        self.assertEqual(err.status, keys.Status.IO)
        self.assertIn(endpoint, err.message)
        self.assertIn("600 ms", err.message)
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 2.6)


@unittest.skipUnless(ENDPOINTS, NO_CLUSTER)
class EtcdClusterTest(unittest.TestCase):
    """On the cluster of the CODOMYRMEX_TEST_ETCD_* variables: TLS with a client certificate and authentication."""

    def setUp(self) -> None:
        def var(name: str) -> str:
            value = os.environ.get(ENV_PREFIX + name, "")
            if not value:
                self.fail(f"{ENV_PREFIX}ENDPOINTS is set but {ENV_PREFIX}{name} is not")
            return value

        self.tls = EtcdTls(var("CA_FILE"), var("CERT_FILE"), var("KEY_FILE"))
        self.auth = EtcdAuth(var("USER"), var("PASSWORD_FILE"))
        self.location = f"etcd://{ENDPOINTS}/bindings-python-{keys.random_bytes(8).hex()}"

    def test_keys_on_etcd(self) -> None:
        options = OpenOptions(timeout_ms=5000, tls=self.tls, auth=self.auth)
        with KeyManager.open_with(self.location, options) as km:
            self.assertEqual(km.dir, self.location)
            km.generate("api", 32)
            first = km.get("api")
            km.store("db", b"database key")
            self.assertEqual(km.rotate("api", b"rotated over tls"), first)
            self.assertEqual(len(first), 32)
            self.assertEqual(km.current_version("api"), 2)
            message = b"a message MACed on etcd"
            mac = km.hmac("api", message, HashAlg.SHA384)
            self.assertEqual(mac, keys.hmac_compute(b"rotated over tls", message, HashAlg.SHA384))
            km.hmac_verify("api", message, mac, HashAlg.SHA384)
            with self.assertRaises(keys.VerifyFailedError):
                km.hmac_verify("api", b"another message", mac, HashAlg.SHA384)
            km.hmac_verify_tagged("api", message, km.hmac_tagged("api", message))
            self.assertEqual(km.list(), ["api", "db"])
            km.delete("db")
            self.assertEqual(km.list(), ["api"])
            self.assertFalse(km.exists("db"))
            with self.assertRaises(keys.NotFoundError):
                km.get("db")
        # Another manager (another host) sees the same keys.
        with KeyManager.open_with(self.location, OpenOptions(tls=self.tls, auth=self.auth)) as other:
            self.assertEqual(other.get("api"), b"rotated over tls")

    def test_without_auth_the_cluster_refuses(self) -> None:
        with KeyManager.open_with(self.location, OpenOptions(timeout_ms=5000, tls=self.tls)) as km:  # sends nothing
            with self.assertRaises(keys.InvalidArgumentError) as ctx:
                km.list()
        self.assertEqual(ctx.exception.status, keys.Status.INVALID_ARGUMENT)
        self.assertIn("authentication", ctx.exception.message)


if __name__ == "__main__":
    unittest.main()
