"""Argument and buffer plumbing between Python objects and the C calls."""

from __future__ import annotations

import ctypes
import os
from types import TracebackType
from typing import Any, Final, Union

from ._native import secure_zero_raw
from .errors import InvalidArgumentError, InvalidKeyIdError, Status

__all__ = [
    "BytesLike",
    "KeyDir",
    "Inputs",
    "key_id_arg",
    "key_dir_arg",
    "location_arg",
    "size_arg",
    "u32_arg",
    "scratch",
    "take",
]

#: Bytes in: ``bytes``, ``bytearray`` or a ``memoryview`` (any C-contiguous buffer works).
BytesLike = Union[bytes, bytearray, memoryview]
#: A key directory: a path as ``str``, ``bytes`` or ``os.PathLike``.
KeyDir = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

UINT32_MAX: Final = 0xFFFFFFFF


class Inputs:
    """The byte inputs of one call as ``(pointer, length)`` pairs.

    ``bytes`` are handed to C as they are. A writable buffer (``bytearray``,
    writable ``memoryview``) is handed to C in place. A read-only buffer that
    is not ``bytes`` is copied into a ctypes buffer, which is wiped with
    codomyrmex_secure_zero when the ``with`` block ends, since it may be a key.
    """

    def __init__(self) -> None:
        self._copies: list[ctypes.Array[ctypes.c_char]] = []
        self._views: list[Any] = []

    def __enter__(self) -> Inputs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for copy in self._copies:
            secure_zero_raw(copy, len(copy))
        self._copies.clear()
        self._views.clear()

    def bytes(self, data: BytesLike | None, what: str, *, optional: bool = False) -> tuple[Any, int]:
        """A pointer argument and a length for ``data``; ``None`` is allowed if ``optional``."""
        if data is None:
            if optional:
                return None, 0
            raise TypeError(f"{what} is required (bytes, bytearray or memoryview)")
        if isinstance(data, bytes):
            return data, len(data)
        if isinstance(data, str):
            raise TypeError(f"{what} must be bytes-like, not str (encode it first)")
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(f"{what} must be bytes, bytearray or memoryview, not {type(data).__name__}") from None
        if not view.c_contiguous:
            raise TypeError(f"{what} must be a C-contiguous buffer")
        if view.ndim != 1 or view.format != "B":
            view = view.cast("B")
        size = view.nbytes
        if size == 0:
            return None, 0
        if view.readonly:
            copy = (ctypes.c_char * size).from_buffer_copy(view)
            self._copies.append(copy)
            return copy, size
        array = (ctypes.c_char * size).from_buffer(view)
        self._views.append(array)
        return array, size


def key_id_arg(key_id: str) -> bytes:
    """A key id as C string bytes; a NUL inside it would cut it short in C, so it is refused here."""
    if not isinstance(key_id, str):
        raise TypeError(f"key_id must be str, not {type(key_id).__name__}")
    if "\0" in key_id:
        raise InvalidKeyIdError(Status.INVALID_KEY_ID, f"invalid key id {key_id!r}: it contains a NUL character")
    try:
        return key_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKeyIdError(
            Status.INVALID_KEY_ID, f"invalid key id {key_id!r}: it is not valid Unicode text"
        ) from None


def key_dir_arg(key_dir: KeyDir | None) -> bytes | None:
    """A directory path as C string bytes, or None for the library's default directory."""
    if key_dir is None:
        return None
    path = os.fsencode(key_dir)
    if b"\0" in path:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, "invalid key directory: the path contains a NUL byte")
    return path


def location_arg(location: KeyDir | None) -> bytes | None:
    """A key source location as C string bytes: ``None`` (the default directory), a path or ``mounted:<dir>``.

    A path object (``os.PathLike``) is always a directory: a relative one is
    given a ``./`` prefix, so that a directory named ``a:b`` is not read as
    the scheme ``a:``.
    """
    path = key_dir_arg(location)
    if path is not None and isinstance(location, os.PathLike) and not os.path.isabs(path):
        path = b"./" + path
    return path


def size_arg(value: int, what: str) -> int:
    """A ``size_t`` argument: a non-negative ``int``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, not {type(value).__name__}")
    if value < 0:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"{what} must not be negative, got {value}")
    return value


def u32_arg(value: int, what: str) -> int:
    """A ``uint32_t`` argument (versions, counts)."""
    size_arg(value, what)
    if value > UINT32_MAX:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"{what} must be at most {UINT32_MAX}, got {value}")
    return value


def scratch(size: int) -> ctypes.Array[ctypes.c_char]:
    """A zeroed ctypes output buffer (at least one byte, so its pointer is never NULL)."""
    return (ctypes.c_char * max(size, 1))()


def take(buf: ctypes.Array[ctypes.c_char], size: int, *, mutable: bool, secret: bool) -> bytes | bytearray:
    """The first ``size`` bytes of an output buffer as ``bytes`` (or ``bytearray`` if ``mutable``).

    If ``secret``, the ctypes buffer is wiped afterwards, so the only copy
    left is the one returned.
    """
    try:
        if mutable:
            out = bytearray(size)
            if size:
                ctypes.memmove((ctypes.c_char * size).from_buffer(out), buf, size)
            return out
        return ctypes.string_at(buf, size)
    finally:
        if secret:
            secure_zero_raw(buf, len(buf))
