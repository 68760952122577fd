"""Keyrings: every version of one key in memory, for MACs on hot paths (C contract §10)."""

from __future__ import annotations

import ctypes

from ._buffers import BytesLike, Inputs, scratch
from ._crypto import MAX_DIGEST_LEN, TAG_OVERHEAD
from ._handle import Handle, Resource
from ._native import check, lib
from .algorithms import HashAlg

__all__ = ["Keyring"]

_LOAD = object()  # only KeyManager.load wraps a native keyring


def _free_keyring(ptr: int) -> None:
    lib.codomyrmex_keyring_free(ptr)


class Keyring(Resource):
    """Every version of one key (current, older and staged), loaded by ``KeyManager.load``.

    A MAC with a keyring reads no file. With ``refresh_ms > 0`` the keyring
    checks at most that often whether the key changed in the store and
    reloads it; with 0, only ``refresh()`` reloads. A key deleted from the
    store is wiped: calls then raise NotFoundError. The keyring keeps
    working after its KeyManager is closed.

    One keyring may be used by many threads at once, a refresh included;
    ``close()`` waits for the calls in flight and wipes the keys. Close it
    with ``close()`` or a ``with`` block; one garbage-collected unclosed is
    closed then, with a ``ResourceWarning``.
    """

    def __init__(self, handle: int, key_id: str, alg: HashAlg, *, _token: object = None) -> None:
        """Internal: use ``KeyManager.load``."""
        if _token is not _LOAD or not isinstance(handle, int) or handle == 0:
            raise TypeError("use KeyManager.load(key_id, alg) to load a keyring")
        self._key_id = key_id
        self._alg = alg
        self._handle = Handle(handle, _free_keyring, "keyring")

    def _unclosed_message(self) -> str:
        return f"unclosed Keyring for {self._key_id!r}: call close() or use `with km.load(...)`"

    @property
    def key_id(self) -> str:
        """The id of the key this keyring holds."""
        return self._key_id

    @property
    def alg(self) -> HashAlg:
        """The algorithm of every MAC this keyring makes and checks."""
        return self._alg

    def __repr__(self) -> str:
        state = " (closed)" if self.closed else ""
        return f"<Keyring {self._key_id!r} {self._alg.name.lower()}{state}>"

    def refresh(self) -> bool:
        """Checks the store now and reloads the key if it changed; returns whether the keys served changed.

        Raises the store's error if the check or the reload fails (the last
        good keys are still served), NotFoundError if the key was deleted.
        """
        changed = ctypes.c_bool(False)
        with self._handle.use() as kr:
            check(lib.codomyrmex_keyring_refresh(kr, ctypes.byref(changed)))
        return bool(changed.value)

    def current_version(self) -> int:
        """The number of the version MACs are made with now."""
        out = ctypes.c_uint32(0)
        with self._handle.use() as kr:
            check(lib.codomyrmex_keyring_current_version(kr, ctypes.byref(out)))
        return int(out.value)

    def hmac(self, data: BytesLike) -> bytes:
        """HMAC of ``data`` with the current version: the bytes ``KeyManager.hmac`` gives."""
        with self._handle.use() as kr, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            out = scratch(MAX_DIGEST_LEN)
            out_len = ctypes.c_size_t(0)
            check(lib.codomyrmex_keyring_hmac(kr, d, d_len, out, len(out), ctypes.byref(out_len)))
        return ctypes.string_at(out, out_len.value)

    def hmac_verify(self, data: BytesLike, mac: BytesLike) -> None:
        """Checks ``mac`` with the current version in constant time; raises VerifyFailedError on a mismatch."""
        with self._handle.use() as kr, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            m, m_len = inp.bytes(mac, "mac")
            check(lib.codomyrmex_keyring_hmac_verify(kr, d, d_len, m, m_len))

    def hmac_tagged(self, data: BytesLike) -> bytes:
        """A tagged MAC with the current version: the bytes ``KeyManager.hmac_tagged`` gives."""
        with self._handle.use() as kr, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            out = scratch(TAG_OVERHEAD + MAX_DIGEST_LEN)
            out_len = ctypes.c_size_t(0)
            check(lib.codomyrmex_keyring_hmac_tagged(kr, d, d_len, out, len(out), ctypes.byref(out_len)))
        return ctypes.string_at(out, out_len.value)

    def hmac_verify_tagged(self, data: BytesLike, tag: BytesLike) -> None:
        """Checks a tagged MAC with the version it names (any version held, staged ones included).

        Raises VerifyFailedError for a mismatch, a bad format, or a version
        the keyring does not hold.
        """
        with self._handle.use() as kr, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            t, t_len = inp.bytes(tag, "tag")
            check(lib.codomyrmex_keyring_hmac_verify_tagged(kr, d, d_len, t, t_len))
