"""Python bindings for codomyrmex_keys: a hardened key store, HMAC and HKDF over SHA-2.

The native library ``libcodomyrmex_keys.so`` is called through ctypes. Every
status the C functions return becomes an exception (a subclass of
:class:`CodomyrmexError`) carrying the library's one-line message.

    from codomyrmex_keys import KeyManager, HashAlg, VerifyFailedError

    with KeyManager.open("/srv/app/keys") as km:
        km.generate("api")
        mac = km.hmac("api", b"message", HashAlg.SHA256)
        km.hmac_verify("api", b"message", mac)

``bytes`` objects cannot be wiped in Python. Functions that return key
material accept ``mutable=True`` and then return a ``bytearray``, which
:func:`secure_zero` can overwrite when you are done with it.
"""

from __future__ import annotations

from ._buffers import BytesLike, KeyDir
from ._crypto import (
    MAX_DIGEST_LEN,
    MAX_KEY_ID_LEN,
    MAX_KEY_LEN,
    TAG_OVERHEAD,
    Hmac,
    hkdf_derive,
    hkdf_expand,
    hkdf_extract,
    hmac_compute,
    hmac_verify,
    random_bytes,
    secure_zero,
    status_name,
    version,
)
from ._native import last_error_message, last_os_error, library_path
from .algorithms import Algorithm, HashAlg, digest_size, hash_alg_from_name
from .errors import (
    AlreadyExistsError,
    BufferTooSmallError,
    CodomyrmexError,
    CorruptError,
    InsecurePermissionsError,
    InternalError,
    InvalidArgumentError,
    InvalidKeyIdError,
    IoError,
    NotFoundError,
    NullPointerError,
    Status,
    UnsupportedAlgorithmError,
    VerifyFailedError,
)
from .key_manager import KeyManager
from .keyring import Keyring
from .options import EtcdAuth, EtcdTls, OpenOptions

__all__ = [
    # constants and types
    "MAX_DIGEST_LEN",
    "MAX_KEY_ID_LEN",
    "MAX_KEY_LEN",
    "TAG_OVERHEAD",
    "Algorithm",
    "BytesLike",
    "HashAlg",
    "KeyDir",
    "Status",
    "library_path",
    # library-wide
    "version",
    "status_name",
    "last_error_message",
    "last_os_error",
    "random_bytes",
    "secure_zero",
    # algorithms
    "digest_size",
    "hash_alg_from_name",
    # HMAC
    "hmac_compute",
    "hmac_verify",
    "Hmac",
    # HKDF
    "hkdf_derive",
    "hkdf_extract",
    "hkdf_expand",
    # key manager
    "KeyManager",
    "OpenOptions",
    "EtcdTls",
    "EtcdAuth",
    "Keyring",
    # errors
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
]
