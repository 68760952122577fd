"""Status codes of the C contract and the exceptions they become.

An error the operating system reported (``codomyrmex_last_os_error`` is not
0) carries its ``errno`` and is also an instance of the ``OSError`` subclass
Python uses for that errno (``PermissionError`` for ``EACCES``,
``NotADirectoryError`` for ``ENOTDIR``, ``TimeoutError`` for ``ETIMEDOUT``,
``OSError`` itself for the rest), so ``except PermissionError`` works as it
does around ``open()``. ``IoError`` is always an ``OSError``.
"""

from __future__ import annotations

import os
import threading
from enum import IntEnum
from typing import Any, Final, cast

__all__ = [
    "Status",
    "status_code",
    "CodomyrmexError",
    "NullPointerError",
    "InvalidArgumentError",
    "InvalidKeyIdError",
    "UnsupportedAlgorithmError",
    "BufferTooSmallError",
    "NotFoundError",
    "AlreadyExistsError",
    "VerifyFailedError",
    "IoError",
    "InsecurePermissionsError",
    "CorruptError",
    "InternalError",
    "error_for",
]


class Status(IntEnum):
    """The status codes of the C contract (``codomyrmex_status``); values are permanent."""

    OK = 0
    NULL_POINTER = 1
    INVALID_ARGUMENT = 2
    INVALID_KEY_ID = 3
    UNSUPPORTED_ALGORITHM = 4
    BUFFER_TOO_SMALL = 5
    NOT_FOUND = 6
    ALREADY_EXISTS = 7
    VERIFY_FAILED = 8
    IO = 9
    INSECURE_PERMISSIONS = 10
    CORRUPT = 11
    INTERNAL = 12


UNKNOWN_STATUS: Final = "CODOMYRMEX_UNKNOWN_STATUS"


def status_code(status: int) -> str:
    """The C name of ``status``, e.g. ``"CODOMYRMEX_ERR_NOT_FOUND"``."""
    try:
        member = Status(status)
    except ValueError:
        return UNKNOWN_STATUS
    return "CODOMYRMEX_OK" if member is Status.OK else f"CODOMYRMEX_ERR_{member.name}"


class CodomyrmexError(Exception):
    """An error reported by codomyrmex_keys.

    ``status`` is the C status number, ``code`` its name (for example
    ``"CODOMYRMEX_ERR_NOT_FOUND"``) and ``message`` the library's one-line
    explanation, which never contains key material. ``errno`` is the
    operating system's error number behind the failure, or ``None``; an
    error with one is also the ``OSError`` subclass Python uses for it, with
    ``strerror`` set as ``OSError`` sets it.
    """

    status: int
    code: str
    message: str
    errno: int | None

    def __init__(self, status: int, message: str = "", errno: int | None = None) -> None:
        self.status = int(status)
        self.code = status_code(self.status)
        self.message = message or self.code
        super().__init__(self.message)
        self.errno = errno or None
        if isinstance(self, OSError) and self.errno is not None:
            cast(OSError, self).strerror = os.strerror(self.errno)

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, tuple[type[CodomyrmexError], int, str, int | None]]:
        library_class = _LIBRARY_CLASS.get(type(self), type(self))
        return (_rebuild, (library_class, self.status, self.message, self.errno))


class NullPointerError(CodomyrmexError):
    """A required pointer was NULL; here: the object was already closed."""


class InvalidArgumentError(CodomyrmexError, ValueError):
    """A length or other argument is out of range."""


class InvalidKeyIdError(CodomyrmexError, ValueError):
    """The key id breaks the rule: 1 to 128 bytes from ``[A-Za-z0-9._-]``, not starting with ``.``."""


class UnsupportedAlgorithmError(CodomyrmexError, ValueError):
    """Unknown algorithm value or name."""


class BufferTooSmallError(CodomyrmexError):
    """An output buffer was too small (the bindings size their buffers, so this is rare)."""


class NotFoundError(CodomyrmexError):
    """No key with that id (or no such version)."""


class AlreadyExistsError(CodomyrmexError):
    """A key with that id exists and the call must not replace it."""


class VerifyFailedError(CodomyrmexError):
    """The MAC does not match."""


class IoError(CodomyrmexError, OSError):
    """The operating system refused or failed; the message names the errno and the path.

    Always an ``OSError``; ``errno`` says which error, when the library knows it.
    """


class InsecurePermissionsError(CodomyrmexError):
    """The key directory or a key file is not private to this user, or is a symbolic link."""


class CorruptError(CodomyrmexError):
    """A key file on disk is unusable: empty, over the size limit, or not a regular file."""


class InternalError(CodomyrmexError):
    """A bug inside the library (a caught panic)."""


_BY_STATUS: Final[dict[int, type[CodomyrmexError]]] = {
    Status.NULL_POINTER: NullPointerError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.INVALID_KEY_ID: InvalidKeyIdError,
    Status.UNSUPPORTED_ALGORITHM: UnsupportedAlgorithmError,
    Status.BUFFER_TOO_SMALL: BufferTooSmallError,
    Status.NOT_FOUND: NotFoundError,
    Status.ALREADY_EXISTS: AlreadyExistsError,
    Status.VERIFY_FAILED: VerifyFailedError,
    Status.IO: IoError,
    Status.INSECURE_PERMISSIONS: InsecurePermissionsError,
    Status.CORRUPT: CorruptError,
    Status.INTERNAL: InternalError,
}


# The classes os_flavoured made, each mapped to the library class it extends.
_LIBRARY_CLASS: dict[type[CodomyrmexError], type[CodomyrmexError]] = {}
_FLAVOURED: dict[tuple[type[CodomyrmexError], type[OSError]], type[CodomyrmexError]] = {}
_FLAVOURED_LOCK = threading.Lock()


def os_flavoured(cls: type[CodomyrmexError], errno: int | None) -> type[CodomyrmexError]:
    """``cls``, made also the ``OSError`` subclass Python raises for ``errno``.

    ``cls`` itself when ``errno`` is ``None`` or 0, or when ``cls`` already is
    that subclass; otherwise a subclass of both, named as ``cls`` and made
    once per pair.
    """
    if not errno:
        return cls
    os_class = type(OSError(errno, ""))
    if issubclass(cls, os_class):
        return cls
    with _FLAVOURED_LOCK:
        flavoured = _FLAVOURED.get((cls, os_class))
        if flavoured is None:
            flavoured = type(cls.__name__, (cls, os_class), {"__module__": cls.__module__, "__doc__": cls.__doc__})
            flavoured.__qualname__ = cls.__qualname__
            _FLAVOURED[(cls, os_class)] = flavoured
            _LIBRARY_CLASS[flavoured] = cls
    return flavoured


def _rebuild(cls: type[CodomyrmexError], status: int, message: str, errno: int | None) -> CodomyrmexError:
    """Unpickles an error: ``cls`` with its ``OSError`` flavour for ``errno``."""
    return os_flavoured(cls, errno)(status, message, errno)


def error_for(status: int, message: str, errno: int | None = None) -> CodomyrmexError:
    """The exception for a nonzero status: its subclass (CodomyrmexError for an unknown one), OS-flavoured."""
    return _rebuild(_BY_STATUS.get(status, CodomyrmexError), status, message, errno)
