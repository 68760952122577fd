"""Ownership of a native handle (key manager, keyring, HMAC stream)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TypeVar

from .errors import NullPointerError, Status

__all__ = ["Handle", "Resource"]

_R = TypeVar("_R", bound="Resource")


class Handle:
    """A native pointer and the function that frees it.

    ``use()`` lends the pointer for one C call. ``close()`` marks the handle
    closed at once (later ``use()`` raise NullPointerError), waits for the
    calls in flight on other threads, then frees it exactly once. With
    ``exclusive=True`` calls are also serialized, for objects the C contract
    gives to one thread at a time (HMAC streams).
    """

    def __init__(self, ptr: int, free: Callable[[int], None], what: str, *, exclusive: bool = False) -> None:
        self._ptr: int | None = ptr
        self._free = free
        self._what = what
        self._exclusive = exclusive
        self._users = 0
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    @contextmanager
    def use(self) -> Iterator[int]:
        with self._cond:
            while self._exclusive and self._users:
                self._cond.wait()
            if self._ptr is None:
                raise NullPointerError(Status.NULL_POINTER, f"the {self._what} is closed")
            ptr = self._ptr
            self._users += 1
        try:
            yield ptr
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            if self._ptr is None:
                return
            ptr, self._ptr = self._ptr, None
            while self._users:
                self._cond.wait()
        self._free(ptr)


class Resource:
    """An object that owns a :class:`Handle` and must be closed, as a file must.

    ``close()`` or a ``with`` block releases it. One garbage-collected
    unclosed is closed then, with a ``ResourceWarning`` saying
    ``_unclosed_message()`` (shown by ``python -X dev``, ``-W default`` and
    test runners).
    """

    _handle: Handle

    def _unclosed_message(self) -> str:
        raise NotImplementedError

    def __del__(self) -> None:
        handle: Handle | None = getattr(self, "_handle", None)  # None if __init__ refused
        if handle is not None and not handle.closed:
            warnings.warn(self._unclosed_message(), ResourceWarning, stacklevel=2, source=self)
            handle.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._handle.closed

    def close(self) -> None:
        """Releases the handle, after the calls in flight; later calls raise NullPointerError. Idempotent."""
        self._handle.close()

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
