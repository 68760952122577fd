"""Options for opening a key source (C contract §9 and §11)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from ._buffers import KeyDir, key_dir_arg, u32_arg
from ._native import check, lib
from .errors import InvalidArgumentError, Status

__all__ = ["OpenOptions", "native_options"]


@dataclass(frozen=True)
class OpenOptions:
    """How ``KeyManager.open_with`` opens a key source; ``None`` leaves the library's default.

    ``read_only``
        every write (``store``, ``create``, ``generate``, ``rotate``,
        ``delete``, ``prune``, ``stage``, ``promote``) raises
        InvalidArgumentError and touches nothing; opening creates nothing.
        Mounted sources are always read-only.
    ``trusted_uid``
        in a mounted source, also trust files owned by this uid (the agent
        that writes them), besides root and the effective user.
    ``lock_timeout_ms``
        writers wait at most this long for another writer's lock, then raise
        IoError (a ``TimeoutError``); 0 waits forever. Default 30 000.
    ``kek_file``
        seal every key file written under the key-encryption key in this
        file (32 random bytes, private to this user, outside the key
        directory); sealed files are read with it.
    ``kek_credential``
        as ``kek_file``, for the systemd credential of this name
        (``$CREDENTIALS_DIRECTORY/<name>``).
    ``require_sealed``
        reading a key file that is not sealed raises CorruptError.
    """

    read_only: bool | None = None
    trusted_uid: int | None = None
    lock_timeout_ms: int | None = None
    kek_file: KeyDir | None = None
    kek_credential: str | None = None
    require_sealed: bool | None = None


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be bool, not {type(value).__name__}")
    return value


def _name(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"{name} {value!r} contains a NUL character")
    return value.encode("utf-8", "surrogateescape")


def _path(value: Any, name: str) -> bytes | None:
    try:
        return key_dir_arg(value)
    except InvalidArgumentError:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT, f"{name}: the path contains a NUL byte") from None


# Each field: its C setter and the conversion of its Python value. A new
# option is one field above and one line here.
_SETTERS: Final[dict[str, tuple[Callable[..., int], Callable[[Any, str], Any]]]] = {
    "read_only": (lib.codomyrmex_open_options_set_read_only, _bool),
    "trusted_uid": (lib.codomyrmex_open_options_set_trusted_uid, u32_arg),
    "lock_timeout_ms": (lib.codomyrmex_open_options_set_lock_timeout_ms, u32_arg),
    "kek_file": (lib.codomyrmex_open_options_set_kek_file, _path),
    "kek_credential": (lib.codomyrmex_open_options_set_kek_credential, _name),
    "require_sealed": (lib.codomyrmex_open_options_set_require_sealed, _bool),
}


@contextmanager
def native_options(options: OpenOptions | None) -> Iterator[int | None]:
    """A native options object with every field of ``options`` that is not None set; None for None."""
    if options is None:
        yield None
        return
    if not isinstance(options, OpenOptions):
        raise TypeError(f"options must be OpenOptions, not {type(options).__name__}")
    ptr = ctypes.c_void_p()
    check(lib.codomyrmex_open_options_new(ctypes.byref(ptr)))
    assert ptr.value is not None
    try:
        for name, (setter, convert) in _SETTERS.items():
            value = getattr(options, name)
            if value is not None:
                check(setter(ptr.value, convert(value, name)))
        yield ptr.value
    finally:
        lib.codomyrmex_open_options_free(ptr.value)
