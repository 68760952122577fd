"""Status codes of the C contract and the exceptions they become."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

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
    explanation, which never contains key material.
    """

    status: int
    code: str
    message: str

    def __init__(self, status: int, message: str = "") -> None:
        self.status = int(status)
        self.code = status_code(self.status)
        self.message = message or self.code
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"

    def __reduce__(self) -> tuple[type[CodomyrmexError], tuple[int, str]]:
        return (type(self), (self.status, self.message))


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


class IoError(CodomyrmexError):
    """The operating system refused or failed; the message names the errno and the path."""


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


def error_for(status: int, message: str) -> CodomyrmexError:
    """The exception for a nonzero status: its subclass, or CodomyrmexError for an unknown one."""
    return _BY_STATUS.get(status, CodomyrmexError)(status, message)
