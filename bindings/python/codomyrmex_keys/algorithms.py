"""Hash algorithms (``codomyrmex_hash_alg``)."""

from __future__ import annotations

import ctypes
from enum import IntEnum
from typing import Union

from ._native import check, lib
from .errors import Status, UnsupportedAlgorithmError

__all__ = ["HashAlg", "Algorithm", "alg_arg", "hash_alg_from_name", "digest_size"]

_UINT32_MAX = 0xFFFFFFFF


class HashAlg(IntEnum):
    """SHA-2 algorithms for HMAC and HKDF."""

    SHA256 = 1
    SHA384 = 2
    SHA512 = 3

    @property
    def digest_size(self) -> int:
        """Digest (and HMAC, PRK) length in bytes: 32, 48 or 64."""
        return int(lib.codomyrmex_hash_digest_len(self.value))

    @classmethod
    def from_name(cls, name: str) -> HashAlg:
        """Parses ``"sha256"``, ``"SHA-384"``, ``"sha_512"`` (any letter case)."""
        return hash_alg_from_name(name)


#: An algorithm argument: a HashAlg, another int (an error unless the library knows it),
#: or a name such as ``"sha256"``.
Algorithm = Union[HashAlg, int, str]


def hash_alg_from_name(name: str) -> HashAlg:
    """Parses an algorithm name with the library: ``"sha256"``, ``"SHA-384"``, ``"sha_512"``…"""
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    if "\0" in name:
        raise UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, f"unsupported algorithm name {name!r}")
    out = ctypes.c_uint32(0)
    check(lib.codomyrmex_hash_alg_from_name(name.encode("utf-8", "replace"), ctypes.byref(out)))
    return HashAlg(out.value)


def alg_arg(alg: Algorithm) -> int:
    """The C value for an algorithm argument; range errors are left to the library where it can judge them."""
    if isinstance(alg, str):
        return int(hash_alg_from_name(alg))
    if not isinstance(alg, int) or isinstance(alg, bool):
        raise TypeError(f"alg must be HashAlg, int or str, not {type(alg).__name__}")
    if not 0 <= alg <= _UINT32_MAX:
        raise UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, f"unsupported algorithm value {alg}")
    return int(alg)


def digest_size(alg: Algorithm) -> int:
    """Digest length of ``alg`` in bytes; UnsupportedAlgorithmError for an unknown one."""
    value = alg_arg(alg)
    size = int(lib.codomyrmex_hash_digest_len(value))
    if size == 0:
        raise UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, f"unsupported algorithm value {value}")
    return size
