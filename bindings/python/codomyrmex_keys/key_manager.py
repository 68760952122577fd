"""The key manager: an open key source (C contract §7 to §12)."""

from __future__ import annotations

import builtins
import ctypes
import os
from collections.abc import Callable
from typing import Any, Literal, overload

from ._buffers import (
    BytesLike,
    Inputs,
    KeyDir,
    key_dir_arg,
    key_id_arg,
    location_arg,
    scratch,
    size_arg,
    take,
    u32_arg,
)
from ._crypto import MAX_DIGEST_LEN, MAX_KEY_LEN, TAG_OVERHEAD, okm_buffer, okm_result
from ._handle import Handle, Resource
from ._native import check, lib
from .algorithms import Algorithm, HashAlg, alg_arg
from .errors import Status
from .keyring import _LOAD, Keyring
from .options import OpenOptions, native_options

__all__ = ["KeyManager"]


_OPEN = object()  # only KeyManager.open and open_with wrap a native handle


def _free_key_manager(ptr: int) -> None:
    lib.codomyrmex_key_manager_free(ptr)


def _sized_output(call: Callable[[Any, int, Any], int]) -> tuple[ctypes.Array[ctypes.c_char], int]:
    """Runs a ``(buf, cap, out_len)`` call whose output size is not known in advance.

    Asks for the size with ``(NULL, 0)``, then calls again with a buffer of
    that size (again if it grew in between). Returns the buffer and the
    number of bytes written.
    """
    cap = 0
    while True:
        buf = scratch(cap)
        out_len = ctypes.c_size_t(0)
        status = call(buf if cap else None, cap, ctypes.byref(out_len))
        if status == Status.OK:
            return buf, (out_len.value if cap else 0)
        if status != Status.BUFFER_TOO_SMALL:
            check(status)
        cap = out_len.value


class KeyManager(Resource):
    """An open key source: a private key directory (each key the file ``<dir>/<key_id>.key``) or a mounted one.

    Open it with ``KeyManager.open(path)`` or ``KeyManager.open_with(location,
    options)`` and close it with ``close()`` or a ``with`` block: it holds a
    directory descriptor until then. One dropped unclosed is closed when it
    is garbage-collected, with a ``ResourceWarning``, as an unclosed file is
    (shown by ``python -X dev``, ``-W default`` and test runners). One
    KeyManager may be shared by many threads; ``close()`` waits for the
    calls in flight. Key ids are 1 to 128 characters from
    ``[A-Za-z0-9._-]``, not starting with ``.``.

    Keys are returned as ``bytes``, which Python cannot wipe; pass
    ``mutable=True`` to get a ``bytearray`` and wipe it with
    ``secure_zero`` when done.
    """

    def __init__(self, handle: int, *, _token: object = None, _opened_as: str = "") -> None:
        """Internal: use ``KeyManager.open`` or ``KeyManager.open_with``."""
        if _token is not _OPEN or not isinstance(handle, int) or handle == 0:
            raise TypeError("use KeyManager.open(path) to open a key directory")
        self._handle = Handle(handle, _free_key_manager, "key manager")
        self._opened_as = _opened_as

    def _unclosed_message(self) -> str:
        return f"unclosed KeyManager for {self._opened_as}: call close() or use `with KeyManager.open(...)`"

    @classmethod
    def open(cls, key_dir: KeyDir | None = None) -> KeyManager:
        """Opens the key directory ``key_dir``, creating it (mode 0700) if absent.

        ``None`` means the library's default ``<tmp>/codomyrmex_keys``: pass a
        stable directory for keys that must persist.
        """
        path = key_dir_arg(key_dir)
        out = ctypes.c_void_p()
        check(lib.codomyrmex_key_manager_open(path, ctypes.byref(out)))
        return cls._wrap(out, key_dir)

    @classmethod
    def open_with(cls, location: KeyDir | None = None, options: OpenOptions | None = None) -> KeyManager:
        """Opens the key source ``location`` with ``options`` (``None``: the defaults).

        ``location`` is ``None`` for the default key directory (as ``open``), a
        path for a private key directory, or ``"mounted:<dir>"`` for a
        read-only directory an orchestrator fills (a Kubernetes Secret volume,
        Docker secrets, systemd credentials): links followed only inside it,
        files trusted only if nobody but root, this user or
        ``options.trusted_uid`` can write them, older versions as
        ``<id>.key.v<N>``; or ``"etcd://host1:port1,host2:port2[/prefix]"``
        for a key set shared by many hosts in an etcd v3 cluster (default
        prefix ``/codomyrmex_keys``; see ``options.timeout_ms``, ``tls`` and
        ``auth``; seal it with a KEK): opening sends nothing, so an
        unreachable cluster fails the first call with IoError. Any other
        ``<scheme>:`` prefix raises InvalidArgumentError; a path object is
        always a directory.
        """
        loc = location_arg(location)
        out = ctypes.c_void_p()
        with native_options(options) as opts:
            check(lib.codomyrmex_key_manager_open_with(loc, opts, ctypes.byref(out)))
        return cls._wrap(out, location)

    @classmethod
    def _wrap(cls, out: ctypes.c_void_p, opened_as: KeyDir | None) -> KeyManager:
        assert out.value is not None
        name = "the default key directory" if opened_as is None else repr(os.fsdecode(opened_as))
        return cls(out.value, _token=_OPEN, _opened_as=name)

    # -- lifetime --------------------------------------------------------------

    def __repr__(self) -> str:
        if self.closed:
            return "<KeyManager (closed)>"
        return f"<KeyManager {self.dir!r}>"

    def __contains__(self, key_id: object) -> bool:
        return isinstance(key_id, str) and self.exists(key_id)

    # -- keys -----------------------------------------------------------------

    @property
    def dir(self) -> str:
        """The key directory's path, as resolved when it was opened."""
        with self._handle.use() as km:
            buf, n = _sized_output(lambda b, cap, n: lib.codomyrmex_key_manager_dir(km, b, cap, n))
        return os.fsdecode(ctypes.string_at(buf, max(n - 1, 0)))  # without the NUL

    def store(self, key_id: str, key: BytesLike) -> None:
        """Stores ``key`` (1 to 65536 bytes): version 1 of a new id, else the next version (the old one is kept)."""
        kid = key_id_arg(key_id)
        with self._handle.use() as km, Inputs() as inp:
            k, k_len = inp.bytes(key, "key")
            check(lib.codomyrmex_key_manager_store(km, kid, k, k_len))

    def create(self, key_id: str, key: BytesLike) -> None:
        """Like ``store``, but raises AlreadyExistsError if the key exists."""
        kid = key_id_arg(key_id)
        with self._handle.use() as km, Inputs() as inp:
            k, k_len = inp.bytes(key, "key")
            check(lib.codomyrmex_key_manager_create(km, kid, k, k_len))

    def generate(self, key_id: str, length: int = 32) -> None:
        """Creates a random key of ``length`` bytes (1 to 65536); raises AlreadyExistsError if it exists."""
        kid = key_id_arg(key_id)
        n = size_arg(length, "length")
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_generate(km, kid, n))

    @overload
    def get(self, key_id: str, *, mutable: Literal[False] = ...) -> bytes: ...
    @overload
    def get(self, key_id: str, *, mutable: Literal[True]) -> bytearray: ...
    @overload
    def get(self, key_id: str, *, mutable: bool) -> bytes | bytearray: ...
    def get(self, key_id: str, *, mutable: bool = False) -> bytes | bytearray:
        """A copy of the current key (a wipeable ``bytearray`` if ``mutable``)."""
        kid = key_id_arg(key_id)
        with self._handle.use() as km:
            buf, n = _sized_output(lambda b, cap, n: lib.codomyrmex_key_manager_get(km, kid, b, cap, n))
        return take(buf, n, mutable=mutable, secret=True)

    def exists(self, key_id: str) -> bool:
        """Whether the key exists."""
        kid = key_id_arg(key_id)
        out = ctypes.c_bool(False)
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_exists(km, kid, ctypes.byref(out)))
        return bool(out.value)

    def delete(self, key_id: str) -> None:
        """Removes the key and all its versions; raises NotFoundError if absent."""
        kid = key_id_arg(key_id)
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_delete(km, kid))

    def list(self) -> builtins.list[str]:
        """All key ids, sorted bytewise ascending."""
        count = ctypes.c_size_t(0)
        with self._handle.use() as km:
            buf, n = _sized_output(
                lambda b, cap, n: lib.codomyrmex_key_manager_list(km, b, cap, n, ctypes.byref(count))
            )
        raw = ctypes.string_at(buf, n)
        return [] if not raw else raw[:-1].decode("ascii").split("\0")

    @overload
    def rotate(self, key_id: str, new_key: BytesLike, *, mutable: Literal[False] = ...) -> bytes | None: ...
    @overload
    def rotate(self, key_id: str, new_key: BytesLike, *, mutable: Literal[True]) -> bytearray | None: ...
    @overload
    def rotate(self, key_id: str, new_key: BytesLike, *, mutable: bool) -> bytes | bytearray | None: ...
    def rotate(self, key_id: str, new_key: BytesLike, *, mutable: bool = False) -> bytes | bytearray | None:
        """Stores ``new_key`` as the next version and returns the key it replaced.

        Returns None when there was no key (the new key is stored all the same,
        as version 1). The replaced version is kept until pruned.
        """
        kid = key_id_arg(key_id)
        # One call with room for any key, so the rotation happens exactly once.
        old = scratch(MAX_KEY_LEN)
        old_len = ctypes.c_size_t(0)
        try:
            with self._handle.use() as km, Inputs() as inp:
                k, k_len = inp.bytes(new_key, "new_key")
                check(lib.codomyrmex_key_manager_rotate(km, kid, k, k_len, old, len(old), ctypes.byref(old_len)))
            if old_len.value == 0:
                return None
            return take(old, old_len.value, mutable=mutable, secret=True)
        finally:
            lib.codomyrmex_secure_zero(old, len(old))

    # -- using keys inside the library ----------------------------------------

    def hmac(self, key_id: str, data: BytesLike, alg: Algorithm = HashAlg.SHA256) -> bytes:
        """HMAC-``alg`` of ``data`` under the current key, which never leaves the library."""
        return self._hmac(key_id, None, data, alg)

    def hmac_verify(self, key_id: str, data: BytesLike, mac: BytesLike, alg: Algorithm = HashAlg.SHA256) -> None:
        """Checks ``mac`` in constant time; raises VerifyFailedError on a mismatch."""
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        with self._handle.use() as km, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            m, m_len = inp.bytes(mac, "mac")
            check(lib.codomyrmex_key_manager_hmac_verify(km, kid, a, d, d_len, m, m_len))

    @overload
    def derive(
        self,
        key_id: str,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: Literal[False] = ...,
    ) -> bytes: ...
    @overload
    def derive(
        self,
        key_id: str,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: Literal[True],
    ) -> bytearray: ...
    @overload
    def derive(
        self,
        key_id: str,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: bool,
    ) -> bytes | bytearray: ...
    def derive(
        self,
        key_id: str,
        length: int,
        *,
        salt: BytesLike | None = None,
        info: BytesLike | None = None,
        alg: Algorithm = HashAlg.SHA256,
        mutable: bool = False,
    ) -> bytes | bytearray:
        """HKDF-``alg`` with the current key as input key material: ``length`` bytes."""
        return self._derive(key_id, None, length, salt, info, alg, mutable)

    # -- versions ------------------------------------------------------------

    def current_version(self, key_id: str) -> int:
        """The current version number (1 for a key never rotated)."""
        kid = key_id_arg(key_id)
        out = ctypes.c_uint32(0)
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_current_version(km, kid, ctypes.byref(out)))
        return int(out.value)

    @overload
    def get_version(self, key_id: str, version: int, *, mutable: Literal[False] = ...) -> bytes: ...
    @overload
    def get_version(self, key_id: str, version: int, *, mutable: Literal[True]) -> bytearray: ...
    @overload
    def get_version(self, key_id: str, version: int, *, mutable: bool) -> bytes | bytearray: ...
    def get_version(self, key_id: str, version: int, *, mutable: bool = False) -> bytes | bytearray:
        """A copy of version ``version`` (0: current); NotFoundError if unknown or pruned."""
        kid = key_id_arg(key_id)
        v = u32_arg(version, "version")
        with self._handle.use() as km:
            buf, n = _sized_output(lambda b, cap, n: lib.codomyrmex_key_manager_get_version(km, kid, v, b, cap, n))
        return take(buf, n, mutable=mutable, secret=True)

    def list_versions(self, key_id: str) -> builtins.list[int]:
        """The kept version numbers, ascending; the last is the current one."""
        kid = key_id_arg(key_id)
        cap = 0
        with self._handle.use() as km:
            while True:
                out = (ctypes.c_uint32 * max(cap, 1))()
                count = ctypes.c_size_t(0)
                status = lib.codomyrmex_key_manager_list_versions(
                    km, kid, out if cap else None, cap, ctypes.byref(count)
                )
                if status == Status.OK:
                    return [int(v) for v in out[: count.value]]
                if status != Status.BUFFER_TOO_SMALL:
                    check(status)
                cap = count.value

    def prune(self, key_id: str, keep_newest: int) -> None:
        """Removes all but the newest ``keep_newest`` (at least 1) versions."""
        kid = key_id_arg(key_id)
        keep = u32_arg(keep_newest, "keep_newest")
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_prune(km, kid, keep))

    def hmac_version(self, key_id: str, version: int, data: BytesLike, alg: Algorithm = HashAlg.SHA256) -> bytes:
        """HMAC-``alg`` of ``data`` under version ``version`` (0: current)."""
        return self._hmac(key_id, u32_arg(version, "version"), data, alg)

    def _hmac(self, key_id: str, version: int | None, data: BytesLike, alg: Algorithm) -> bytes:
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        with self._handle.use() as km, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            out = scratch(MAX_DIGEST_LEN)
            out_len = ctypes.c_size_t(0)
            if version is None:
                status = lib.codomyrmex_key_manager_hmac(km, kid, a, d, d_len, out, len(out), ctypes.byref(out_len))
            else:
                status = lib.codomyrmex_key_manager_hmac_version(
                    km, kid, version, a, d, d_len, out, len(out), ctypes.byref(out_len)
                )
            check(status)
        return ctypes.string_at(out, out_len.value)

    @overload
    def derive_version(
        self,
        key_id: str,
        version: int,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: Literal[False] = ...,
    ) -> bytes: ...
    @overload
    def derive_version(
        self,
        key_id: str,
        version: int,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: Literal[True],
    ) -> bytearray: ...
    @overload
    def derive_version(
        self,
        key_id: str,
        version: int,
        length: int,
        *,
        salt: BytesLike | None = ...,
        info: BytesLike | None = ...,
        alg: Algorithm = ...,
        mutable: bool,
    ) -> bytes | bytearray: ...
    def derive_version(
        self,
        key_id: str,
        version: int,
        length: int,
        *,
        salt: BytesLike | None = None,
        info: BytesLike | None = None,
        alg: Algorithm = HashAlg.SHA256,
        mutable: bool = False,
    ) -> bytes | bytearray:
        """HKDF-``alg`` with version ``version`` (0: current) as input key material."""
        return self._derive(key_id, u32_arg(version, "version"), length, salt, info, alg, mutable)

    def _derive(
        self,
        key_id: str,
        version: int | None,
        length: int,
        salt: BytesLike | None,
        info: BytesLike | None,
        alg: Algorithm,
        mutable: bool,
    ) -> bytes | bytearray:
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        ptr, owner, n = okm_buffer(length, mutable)
        with self._handle.use() as km, Inputs() as inp:
            s, s_len = inp.bytes(salt, "salt", optional=True)
            f, f_len = inp.bytes(info, "info", optional=True)
            if version is None:
                status = lib.codomyrmex_key_manager_derive(km, kid, a, s, s_len, f, f_len, ptr, n)
            else:
                status = lib.codomyrmex_key_manager_derive_version(km, kid, version, a, s, s_len, f, f_len, ptr, n)
            check(status)
        return okm_result(owner, n)

    def hmac_tagged(self, key_id: str, data: BytesLike, alg: Algorithm = HashAlg.SHA256) -> bytes:
        """A tagged MAC: ``0x01 || version (4 bytes, big-endian) || HMAC`` under the current version."""
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        with self._handle.use() as km, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            out = scratch(TAG_OVERHEAD + MAX_DIGEST_LEN)
            out_len = ctypes.c_size_t(0)
            check(lib.codomyrmex_key_manager_hmac_tagged(km, kid, a, d, d_len, out, len(out), ctypes.byref(out_len)))
        return ctypes.string_at(out, out_len.value)

    def hmac_verify_tagged(self, key_id: str, data: BytesLike, tag: BytesLike, alg: Algorithm = HashAlg.SHA256) -> None:
        """Checks a tagged MAC with the version it names.

        Raises VerifyFailedError (mismatch, bad format, pruned or unknown
        version) or NotFoundError (no key ``key_id``).
        """
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        with self._handle.use() as km, Inputs() as inp:
            d, d_len = inp.bytes(data, "data")
            t, t_len = inp.bytes(tag, "tag")
            check(lib.codomyrmex_key_manager_hmac_verify_tagged(km, kid, a, d, d_len, t, t_len))

    # -- staged rotation -------------------------------------------------------

    def stage(self, key_id: str, key: BytesLike) -> int:
        """Adds ``key`` (1 to 65536 bytes) as a staged version of the existing key; returns its number.

        A staged version is listed, readable with ``get_version`` and accepted
        by ``hmac_verify_tagged``, but not used to make MACs until
        ``promote``: every host can learn a new key before any host signs
        with it. Raises NotFoundError if the key does not exist.
        """
        kid = key_id_arg(key_id)
        out = ctypes.c_uint32(0)
        with self._handle.use() as km, Inputs() as inp:
            k, k_len = inp.bytes(key, "key")
            check(lib.codomyrmex_key_manager_stage(km, kid, k, k_len, ctypes.byref(out)))
        return int(out.value)

    def stage_generate(self, key_id: str, length: int = 32) -> int:
        """Like ``stage`` with a random key of ``length`` bytes; returns the staged version's number."""
        kid = key_id_arg(key_id)
        n = size_arg(length, "length")
        out = ctypes.c_uint32(0)
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_stage_generate(km, kid, n, ctypes.byref(out)))
        return int(out.value)

    def promote(self, key_id: str, version: int) -> None:
        """Makes the staged ``version`` current (the one it replaces is kept); NotFoundError unless it is staged."""
        kid = key_id_arg(key_id)
        v = u32_arg(version, "version")
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_promote(km, kid, v))

    # -- sealing ----------------------------------------------------------------

    def seal_all(self) -> int:
        """Seals every plain key file and version record under the KEK the manager was opened with.

        Each file is rewritten atomically; returns how many were (0 when
        everything was sealed already). Raises InvalidArgumentError when
        opened without a KEK or read-only.
        """
        count = ctypes.c_size_t(0)
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_seal_all(km, ctypes.byref(count)))
        return int(count.value)

    # -- keyrings ---------------------------------------------------------------

    def load(self, key_id: str, alg: Algorithm = HashAlg.SHA256, refresh_ms: int = 0) -> Keyring:
        """Loads every version of ``key_id`` into a :class:`Keyring` for MACs with ``alg``.

        ``refresh_ms > 0``: at most this often, a call on the keyring checks
        cheaply whether the key changed and reloads it. ``0``: only
        ``Keyring.refresh()`` reloads. The keyring outlives this manager.
        """
        kid = key_id_arg(key_id)
        a = alg_arg(alg)
        ms = u32_arg(refresh_ms, "refresh_ms")
        out = ctypes.c_void_p()
        with self._handle.use() as km:
            check(lib.codomyrmex_key_manager_load(km, kid, a, ms, ctypes.byref(out)))
        assert out.value is not None
        return Keyring(out.value, key_id, HashAlg(a), _token=_LOAD)
