"""Library-wide functions, HMAC (one-shot and streaming) and HKDF."""

from __future__ import annotations

import ctypes
import weakref
from types import TracebackType
from typing import Any, Final, Literal, overload

from ._buffers import BytesLike, Inputs, scratch, size_arg, take
from ._handle import Handle
from ._native import check, lib
from .algorithms import Algorithm, HashAlg, alg_arg
from .errors import InvalidArgumentError, Status, status_code

__all__ = [
    "MAX_DIGEST_LEN",
    "MAX_KEY_LEN",
    "MAX_KEY_ID_LEN",
    "TAG_OVERHEAD",
    "version",
    "status_name",
    "random_bytes",
    "secure_zero",
    "hmac_compute",
    "hmac_verify",
    "Hmac",
    "hkdf_derive",
    "hkdf_extract",
    "hkdf_expand",
    "okm_buffer",
]

#: The longest digest of any algorithm (SHA-512): a buffer this size holds any MAC.
MAX_DIGEST_LEN: Final = 64
#: The largest key the key manager stores, in bytes (64 KiB).
MAX_KEY_LEN: Final = 65536
#: The longest key id, in bytes.
MAX_KEY_ID_LEN: Final = 128
#: Bytes a tagged MAC adds to the HMAC: format byte 0x01 and a 4-byte big-endian version.
TAG_OVERHEAD: Final = 5

_UINT32_MAX: Final = 0xFFFFFFFF


# ---------------------------------------------------------------------------
# Library-wide


def version() -> str:
    """The library's version, e.g. ``"1.0.0"``."""
    raw: bytes = lib.codomyrmex_version()
    return raw.decode("ascii")


def status_name(status: int) -> str:
    """The library's name for a status value; ``"CODOMYRMEX_UNKNOWN_STATUS"`` for any other int."""
    if not isinstance(status, int) or not 0 <= status <= _UINT32_MAX:
        return status_code(-1)
    raw: bytes = lib.codomyrmex_status_name(status)
    return raw.decode("ascii")


@overload
def random_bytes(length: int, *, mutable: Literal[False] = ...) -> bytes: ...
@overload
def random_bytes(length: int, *, mutable: Literal[True]) -> bytearray: ...
@overload
def random_bytes(length: int, *, mutable: bool) -> bytes | bytearray: ...
def random_bytes(length: int, *, mutable: bool = False) -> bytes | bytearray:
    """``length`` bytes from the operating system's CSPRNG (a wipeable ``bytearray`` if ``mutable``)."""
    n = size_arg(length, "length")
    if mutable:
        out = bytearray(n)
        if n:
            check(lib.codomyrmex_random_bytes((ctypes.c_char * n).from_buffer(out), n))
        return out
    buf = scratch(n)
    check(lib.codomyrmex_random_bytes(buf if n else None, n))
    return take(buf, n, mutable=False, secret=True)


def secure_zero(buf: bytearray | memoryview | ctypes.Array[Any]) -> None:
    """Overwrites a writable buffer with zeros in a way the compiler cannot remove.

    Use it on ``bytearray`` copies of keys when done. ``bytes`` objects are
    immutable and cannot be wiped: ask for ``mutable=True`` results where key
    material must not linger.
    """
    if isinstance(buf, ctypes.Array):
        lib.codomyrmex_secure_zero(buf, ctypes.sizeof(buf))
        return
    view = memoryview(buf)
    if view.readonly:
        raise TypeError("secure_zero needs a writable buffer (bytearray, writable memoryview); bytes cannot be wiped")
    if not view.c_contiguous:
        raise TypeError("secure_zero needs a C-contiguous buffer")
    if view.nbytes:
        lib.codomyrmex_secure_zero((ctypes.c_char * view.nbytes).from_buffer(view.cast("B")), view.nbytes)


# ---------------------------------------------------------------------------
# HMAC


def hmac_compute(key: BytesLike, data: BytesLike, alg: Algorithm = HashAlg.SHA256) -> bytes:
    """HMAC-``alg`` of ``data`` under ``key`` (any length, empty included)."""
    a = alg_arg(alg)
    with Inputs() as inp:
        k, k_len = inp.bytes(key, "key")
        d, d_len = inp.bytes(data, "data")
        out = scratch(MAX_DIGEST_LEN)
        out_len = ctypes.c_size_t(0)
        check(lib.codomyrmex_hmac_compute(a, k, k_len, d, d_len, out, len(out), ctypes.byref(out_len)))
        return ctypes.string_at(out, out_len.value)


def hmac_verify(key: BytesLike, data: BytesLike, mac: BytesLike, alg: Algorithm = HashAlg.SHA256) -> None:
    """Checks ``mac`` against HMAC-``alg`` of ``data`` in constant time.

    Raises VerifyFailedError on a mismatch, including a MAC of the wrong
    length (a truncated MAC never verifies).
    """
    a = alg_arg(alg)
    with Inputs() as inp:
        k, k_len = inp.bytes(key, "key")
        d, d_len = inp.bytes(data, "data")
        m, m_len = inp.bytes(mac, "mac")
        check(lib.codomyrmex_hmac_verify(a, k, k_len, d, d_len, m, m_len))


def _free_hmac(ptr: int) -> None:
    lib.codomyrmex_hmac_free(ptr)


class Hmac:
    """A streaming HMAC for data that does not fit in memory.

    ``finish()`` and ``finish_verify()`` reset the stream to its keyed start,
    so one stream serves many messages under one key. Use it as a context
    manager, or call ``close()`` to wipe and release it. Calls on one stream
    from several threads are serialized.
    """

    def __init__(self, key: BytesLike, alg: Algorithm = HashAlg.SHA256) -> None:
        a = alg_arg(alg)
        ctx = ctypes.c_void_p()
        with Inputs() as inp:
            k, k_len = inp.bytes(key, "key")
            check(lib.codomyrmex_hmac_new(a, k, k_len, ctypes.byref(ctx)))
        assert ctx.value is not None
        self._handle = Handle(ctx.value, _free_hmac, "HMAC stream", exclusive=True)
        self._finalizer = weakref.finalize(self, self._handle.close)

    def update(self, data: BytesLike) -> Hmac:
        """Feeds ``data``; returns the stream, so calls can be chained."""
        with self._handle.use() as ctx, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            check(lib.codomyrmex_hmac_update(ctx, d, d_len))
        return self

    def finish(self) -> bytes:
        """The MAC of everything fed since the start or the last finish; resets the stream."""
        with self._handle.use() as ctx:
            out = scratch(MAX_DIGEST_LEN)
            out_len = ctypes.c_size_t(0)
            check(lib.codomyrmex_hmac_finish(ctx, out, len(out), ctypes.byref(out_len)))
            return ctypes.string_at(out, out_len.value)

    def finish_verify(self, mac: BytesLike) -> None:
        """Checks ``mac`` against everything fed, in constant time; resets the stream.

        Raises VerifyFailedError on a mismatch.
        """
        with self._handle.use() as ctx, Inputs() as inp:
            m, m_len = inp.bytes(mac, "mac")
            check(lib.codomyrmex_hmac_finish_verify(ctx, m, m_len))

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._handle.closed

    def close(self) -> None:
        """Wipes and releases the stream; later calls raise NullPointerError. Idempotent."""
        self._finalizer()

    def __enter__(self) -> Hmac:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------
# HKDF


def okm_buffer(length: int, mutable: bool) -> tuple[Any, bytearray | ctypes.Array[ctypes.c_char], int]:
    """An output buffer for ``length`` HKDF bytes: (pointer argument, owner, length)."""
    n = size_arg(length, "length")
    if n > 255 * MAX_DIGEST_LEN:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"length {n} is over 255 times the digest length")
    if mutable:
        out = bytearray(n)
        return ((ctypes.c_char * n).from_buffer(out) if n else None), out, n
    buf = scratch(n)
    return (buf if n else None), buf, n


def okm_result(owner: bytearray | ctypes.Array[ctypes.c_char], n: int) -> bytes | bytearray:
    """The HKDF output held by ``owner``: the bytearray itself, or bytes copied from a wiped scratch buffer."""
    if isinstance(owner, bytearray):
        return owner
    return take(owner, n, mutable=False, secret=True)


@overload
def hkdf_derive(
    ikm: BytesLike,
    length: int,
    *,
    salt: BytesLike | None = ...,
    info: BytesLike | None = ...,
    alg: Algorithm = ...,
    mutable: Literal[False] = ...,
) -> bytes: ...
@overload
def hkdf_derive(
    ikm: BytesLike,
    length: int,
    *,
    salt: BytesLike | None = ...,
    info: BytesLike | None = ...,
    alg: Algorithm = ...,
    mutable: Literal[True],
) -> bytearray: ...
@overload
def hkdf_derive(
    ikm: BytesLike,
    length: int,
    *,
    salt: BytesLike | None = ...,
    info: BytesLike | None = ...,
    alg: Algorithm = ...,
    mutable: bool,
) -> bytes | bytearray: ...
def hkdf_derive(
    ikm: BytesLike,
    length: int,
    *,
    salt: BytesLike | None = None,
    info: BytesLike | None = None,
    alg: Algorithm = HashAlg.SHA256,
    mutable: bool = False,
) -> bytes | bytearray:
    """HKDF-``alg`` (RFC 5869 extract then expand): ``length`` bytes, 1 to 255 × digest length.

    ``salt=None`` means no salt (digest-length zero bytes). For high-entropy
    input only: HKDF is not a password hash.
    """
    a = alg_arg(alg)
    ptr, owner, n = okm_buffer(length, mutable)
    with Inputs() as inp:
        i, i_len = inp.bytes(ikm, "ikm")
        s, s_len = inp.bytes(salt, "salt", optional=True)
        f, f_len = inp.bytes(info, "info", optional=True)
        check(lib.codomyrmex_hkdf_derive(a, i, i_len, s, s_len, f, f_len, ptr, n))
    return okm_result(owner, n)


@overload
def hkdf_extract(
    ikm: BytesLike, *, salt: BytesLike | None = ..., alg: Algorithm = ..., mutable: Literal[False] = ...
) -> bytes: ...
@overload
def hkdf_extract(
    ikm: BytesLike, *, salt: BytesLike | None = ..., alg: Algorithm = ..., mutable: Literal[True]
) -> bytearray: ...
@overload
def hkdf_extract(
    ikm: BytesLike, *, salt: BytesLike | None = ..., alg: Algorithm = ..., mutable: bool
) -> bytes | bytearray: ...
def hkdf_extract(
    ikm: BytesLike,
    *,
    salt: BytesLike | None = None,
    alg: Algorithm = HashAlg.SHA256,
    mutable: bool = False,
) -> bytes | bytearray:
    """HKDF-Extract: the pseudorandom key (digest length bytes) of ``ikm`` under ``salt`` (None: no salt)."""
    a = alg_arg(alg)
    with Inputs() as inp:
        s, s_len = inp.bytes(salt, "salt", optional=True)
        i, i_len = inp.bytes(ikm, "ikm")
        out = scratch(MAX_DIGEST_LEN)
        out_len = ctypes.c_size_t(0)
        check(lib.codomyrmex_hkdf_extract(a, s, s_len, i, i_len, out, len(out), ctypes.byref(out_len)))
        return take(out, out_len.value, mutable=mutable, secret=True)


@overload
def hkdf_expand(
    prk: BytesLike, length: int, *, info: BytesLike | None = ..., alg: Algorithm = ..., mutable: Literal[False] = ...
) -> bytes: ...
@overload
def hkdf_expand(
    prk: BytesLike, length: int, *, info: BytesLike | None = ..., alg: Algorithm = ..., mutable: Literal[True]
) -> bytearray: ...
@overload
def hkdf_expand(
    prk: BytesLike, length: int, *, info: BytesLike | None = ..., alg: Algorithm = ..., mutable: bool
) -> bytes | bytearray: ...
def hkdf_expand(
    prk: BytesLike,
    length: int,
    *,
    info: BytesLike | None = None,
    alg: Algorithm = HashAlg.SHA256,
    mutable: bool = False,
) -> bytes | bytearray:
    """HKDF-Expand: ``length`` bytes from ``prk`` (at least digest length bytes) and ``info``."""
    a = alg_arg(alg)
    ptr, owner, n = okm_buffer(length, mutable)
    with Inputs() as inp:
        p, p_len = inp.bytes(prk, "prk")
        f, f_len = inp.bytes(info, "info", optional=True)
        check(lib.codomyrmex_hkdf_expand(a, p, p_len, f, f_len, ptr, n))
    return okm_result(owner, n)
