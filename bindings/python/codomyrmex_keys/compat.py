"""A drop-in replacement for the original pure-Python key module.

An existing caller switches by changing one import::

    from codomyrmex_keys.compat import KeyManager, compute_hmac, verify_hmac, derive_key_hkdf

and keeps every name, argument and return convention of the original module:

- ``KeyManager(key_dir=None)``: the key directory (``None``: the default
  ``<tmp>/codomyrmex_keys``), created if absent. ``store_key(key_id, key)``,
  ``get_key(key_id)`` (``None`` when there is no such key),
  ``delete_key(key_id)`` (``True`` if a key was deleted, ``False`` if there
  was none), ``list_keys()`` (the key ids, sorted), ``key_exists(key_id)``,
  ``rotate_key(key_id, new_key)`` (the previous key, or ``None`` when there
  was none; the new key is stored either way).
- ``compute_hmac(data, key, algorithm="sha256")`` returns the MAC as
  ``bytes``; ``verify_hmac(data, key, mac, algorithm="sha256")`` returns
  ``True`` or ``False`` (compared in constant time, never raising on a
  mismatch); ``derive_key_hkdf(ikm, length=32, salt=None, info=b"",
  algorithm="sha256")`` returns ``length`` bytes.
- Every byte argument may also be a ``str``, encoded as UTF-8.
- An algorithm other than ``"sha256"``, ``"sha384"`` and ``"sha512"`` (in
  any letter case) raises ``ValueError("Unsupported algorithm ...")``.

The keys live in the same files as before (``<key_dir>/<key_id>.key``, the
raw bytes, mode 0600), so nothing needs migrating, and the calls get this
library's safety: atomic, durable writes, locking across processes, and
versions kept on rotation.

The only differences are the library's refusals, each an exception where
the original module would have gone ahead:

- a key id that is empty, longer than 128 bytes, starts with ``.`` or holds
  anything but ``[A-Za-z0-9._-]`` (``/``, ``..``, spaces, ...) raises
  :class:`~codomyrmex_keys.InvalidKeyIdError`, a ``ValueError``;
- an empty key, or one over 65536 bytes, raises
  :class:`~codomyrmex_keys.InvalidArgumentError`, a ``ValueError``;
- a key directory or key file that another user owns, that others can
  write (or, for a key file, read), or that is a symbolic link raises
  :class:`~codomyrmex_keys.InsecurePermissionsError`; a key file that is
  empty, too large or not a regular file raises
  :class:`~codomyrmex_keys.CorruptError`;
- ``derive_key_hkdf`` with a ``length`` outside 1 to 255 times the digest
  length raises :class:`~codomyrmex_keys.InvalidArgumentError`, a
  ``ValueError``.

A ``KeyManager`` here holds the key directory open (a descriptor) and
releases it when it is garbage-collected: the original module had no
``close``, so none is needed, and none warns.
"""

from __future__ import annotations

import builtins
from typing import Optional, Union

from ._crypto import hkdf_derive as _hkdf_derive
from ._crypto import hmac_compute as _hmac_compute
from ._crypto import hmac_verify as _hmac_verify
from .algorithms import HashAlg
from .errors import NotFoundError, VerifyFailedError
from .key_manager import KeyManager as _KeyManager

__all__ = ["KeyManager", "compute_hmac", "verify_hmac", "derive_key_hkdf"]

#: bytes-like input, or text encoded as UTF-8.
Data = Union[bytes, bytearray, memoryview, str]

_ALGORITHMS = {"sha256": HashAlg.SHA256, "sha384": HashAlg.SHA384, "sha512": HashAlg.SHA512}


def _bytes(value: Data, what: str) -> Union[bytes, bytearray, memoryview]:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


def _algorithm(algorithm: str) -> HashAlg:
    alg = _ALGORITHMS.get(algorithm.lower()) if isinstance(algorithm, str) else None
    if alg is None:
        raise ValueError(f"Unsupported algorithm {algorithm!r}: use one of {', '.join(_ALGORITHMS)}")
    return alg


class KeyManager:
    """Keys as files ``<key_dir>/<key_id>.key`` in a private directory."""

    def __init__(self, key_dir: Optional[str] = None) -> None:
        self._km = _KeyManager.open(key_dir)
        self.key_dir = self._km.dir

    def __del__(self) -> None:
        km: Optional[_KeyManager] = getattr(self, "_km", None)
        if km is not None:
            km.close()  # the original API has no close: releasing here is the normal way

    def store_key(self, key_id: str, key: Data) -> None:
        """Stores ``key`` as ``key_id``, replacing any key of that id (the old one is kept as a version)."""
        self._km.store(key_id, _bytes(key, "key"))

    def get_key(self, key_id: str) -> Optional[bytes]:
        """The key ``key_id``, or ``None`` if there is none."""
        try:
            return self._km.get(key_id)
        except NotFoundError:
            return None

    def delete_key(self, key_id: str) -> bool:
        """Deletes ``key_id``; ``True`` if it existed, ``False`` if not."""
        try:
            self._km.delete(key_id)
        except NotFoundError:
            return False
        return True

    def list_keys(self) -> builtins.list[str]:
        """The ids of all stored keys, sorted."""
        return sorted(self._km.list())

    def key_exists(self, key_id: str) -> bool:
        """Whether a key ``key_id`` is stored."""
        return self._km.exists(key_id)

    def rotate_key(self, key_id: str, new_key: Data) -> Optional[bytes]:
        """Stores ``new_key`` as ``key_id`` and returns the key it replaced (``None`` if there was none)."""
        return self._km.rotate(key_id, _bytes(new_key, "new_key"))


def compute_hmac(data: Data, key: Data, algorithm: str = "sha256") -> bytes:
    """HMAC of ``data`` under ``key`` with SHA-256, SHA-384 or SHA-512."""
    return _hmac_compute(_bytes(key, "key"), _bytes(data, "data"), _algorithm(algorithm))


def verify_hmac(data: Data, key: Data, mac: Data, algorithm: str = "sha256") -> bool:
    """Whether ``mac`` is the HMAC of ``data`` under ``key`` (constant-time comparison)."""
    alg = _algorithm(algorithm)
    try:
        _hmac_verify(_bytes(key, "key"), _bytes(data, "data"), _bytes(mac, "mac"), alg)
    except VerifyFailedError:
        return False
    return True


def derive_key_hkdf(
    ikm: Data,
    length: int = 32,
    salt: Optional[Data] = None,
    info: Data = b"",
    algorithm: str = "sha256",
) -> bytes:
    """HKDF (RFC 5869): ``length`` bytes from the input key material ``ikm``, ``salt`` and ``info``."""
    alg = _algorithm(algorithm)
    return _hkdf_derive(
        _bytes(ikm, "ikm"),
        length,
        salt=None if salt is None else _bytes(salt, "salt"),
        info=_bytes(info, "info"),
        alg=alg,
    )
