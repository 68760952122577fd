"""Options for opening a key source (C contract §9, §11 and §12)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from ._buffers import KeyDir, key_dir_arg, u32_arg
from ._native import check, lib
from .errors import InvalidArgumentError, Status

__all__ = ["OpenOptions", "EtcdTls", "EtcdAuth", "native_options"]


@dataclass(frozen=True)
class EtcdTls:
    """``OpenOptions.tls``: reach the members of an etcd source over TLS (``https``).

    ``ca_file``
        the PEM CA certificates the members' certificates must chain to
        (``None``: the system's bundle, or ``$SSL_CERT_FILE``).
    ``cert_file``, ``key_file``
        a client certificate and its private key (PEM), for clusters that
        require one: both or neither (else InvalidArgumentError). The key
        file must be a regular file of this user or root that group and
        others cannot access (InsecurePermissionsError when opening).
    """

    ca_file: KeyDir | None = None
    cert_file: KeyDir | None = None
    key_file: KeyDir | None = None


@dataclass(frozen=True)
class EtcdAuth:
    """``OpenOptions.auth``: authenticate to an etcd source as ``user`` (not empty, else InvalidArgumentError).

    ``password_file`` holds the password (one trailing newline is ignored):
    a regular file of this user or root that group and others cannot access
    (InsecurePermissionsError when opening). It is read again whenever a new
    auth token is needed; neither the password nor the token ever appears
    in a message.
    """

    user: str
    password_file: KeyDir


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
    ``timeout_ms``
        for an etcd source: every request to the cluster (connecting,
        failing over between members and retrying included) takes at most
        this long, then the call raises IoError naming every endpoint tried.
        Default 5000; at least 1 (0 raises InvalidArgumentError).
    ``tls``
        for an etcd source: an ``EtcdTls``, to reach the members over TLS.
    ``auth``
        for an etcd source: an ``EtcdAuth``, the etcd user and password file.
    """

    read_only: bool | None = None
    trusted_uid: int | None = None
    lock_timeout_ms: int | None = None
    kek_file: KeyDir | None = None
    kek_credential: str | None = None
    require_sealed: bool | None = None
    timeout_ms: int | None = None
    tls: EtcdTls | None = None
    auth: EtcdAuth | None = None


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


def _tls(value: object, name: str) -> tuple[bytes | None, bytes | None, bytes | None]:
    if not isinstance(value, EtcdTls):
        raise TypeError(f"{name} must be EtcdTls, not {type(value).__name__}")
    return (
        _path(value.ca_file, f"{name}.ca_file"),
        _path(value.cert_file, f"{name}.cert_file"),
        _path(value.key_file, f"{name}.key_file"),
    )


def _auth(value: object, name: str) -> tuple[bytes, bytes | None]:
    if not isinstance(value, EtcdAuth):
        raise TypeError(f"{name} must be EtcdAuth, not {type(value).__name__}")
    return _name(value.user, f"{name}.user"), _path(value.password_file, f"{name}.password_file")


def _one(convert: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple[Any, ...]]:
    """A conversion into the one argument of a setter, as a tuple of arguments."""
    return lambda value, name: (convert(value, name),)


# Each field: its C setter and the conversion of its Python value into the
# setter's arguments after the options object. A new option is one field
# above and one line here.
_SETTERS: Final[dict[str, tuple[Callable[..., int], Callable[[Any, str], tuple[Any, ...]]]]] = {
    "read_only": (lib.codomyrmex_open_options_set_read_only, _one(_bool)),
    "trusted_uid": (lib.codomyrmex_open_options_set_trusted_uid, _one(u32_arg)),
    "lock_timeout_ms": (lib.codomyrmex_open_options_set_lock_timeout_ms, _one(u32_arg)),
    "kek_file": (lib.codomyrmex_open_options_set_kek_file, _one(_path)),
    "kek_credential": (lib.codomyrmex_open_options_set_kek_credential, _one(_name)),
    "require_sealed": (lib.codomyrmex_open_options_set_require_sealed, _one(_bool)),
    "timeout_ms": (lib.codomyrmex_open_options_set_timeout_ms, _one(u32_arg)),
    "tls": (lib.codomyrmex_open_options_set_tls, _tls),
    "auth": (lib.codomyrmex_open_options_set_auth, _auth),
}


@contextmanager
def native_options(options: OpenOptions | None) -> Iterator[int | None]:
    """A native options object with every field of ``options`` that is not None set; None for None."""
    if options is None:
        yield None
        return
    if not isinstance(options, OpenOptions):
        raise TypeError(f"options must be OpenOptions, not {type(options).__name__}")
    # Every value converted before the native object exists.
    settings = [
        (setter, convert(value, name))
        for name, (setter, convert) in _SETTERS.items()
        if (value := getattr(options, name)) is not None
    ]
    ptr = ctypes.c_void_p()
    check(lib.codomyrmex_open_options_new(ctypes.byref(ptr)))
    assert ptr.value is not None
    try:
        for setter, args in settings:
            check(setter(ptr.value, *args))
        yield ptr.value
    finally:
        lib.codomyrmex_open_options_free(ptr.value)
