"""Loads libcodomyrmex_keys with ctypes and declares its C functions.

Where the library comes from, first match wins:

1. ``$CODOMYRMEX_KEYS_LIB_DIR/libcodomyrmex_keys.so.1`` when the variable is
   set (an explicit choice, for development: no fallback if the file is
   missing there);
2. the copy inside this package, ``codomyrmex_keys/_lib/libcodomyrmex_keys.so.1``
   (wheels carry one);
3. ``libcodomyrmex_keys.so.1`` from the system's library search path (the
   Debian package ``libcodomyrmex-keys1``, ``ldconfig``, ``LD_LIBRARY_PATH``).

Never a path relative to the current directory. The library must be of the
major version this package was written for (``ABI_MAJOR``), at least the
minor version that added the last function it declares (``ABI_MINOR``):
another one is refused with an ImportError that says which file and
version were found.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_bool, c_char_p, c_int, c_int32, c_size_t, c_uint32, c_void_p
from pathlib import Path
from typing import Any, Final

from .errors import Status, error_for

__all__ = [
    "lib",
    "library_path",
    "check",
    "last_error_message",
    "last_os_error",
    "secure_zero_raw",
    "LIB_DIR_ENV",
    "ABI_MAJOR",
    "ABI_MINOR",
]

LIB_DIR_ENV: Final = "CODOMYRMEX_KEYS_LIB_DIR"
#: The major version of the C library this package is written for.
ABI_MAJOR: Final = 1
#: The oldest minor version of that major version with every function this package declares.
ABI_MINOR: Final = 1
_SONAME: Final = f"libcodomyrmex_keys.so.{ABI_MAJOR}"
_BUNDLED: Final = Path(__file__).resolve().parent / "_lib" / _SONAME


def _open(path: str) -> ctypes.CDLL:
    """Opens the library at ``path`` and checks its version."""
    cdll = ctypes.CDLL(path)
    try:
        version_fn = cdll.codomyrmex_version
    except AttributeError as err:
        raise ImportError(f"codomyrmex_keys: {path} is not codomyrmex_keys (no codomyrmex_version)") from err
    version_fn.restype = c_char_p
    version_fn.argtypes = []
    found = (version_fn() or b"").decode("ascii", "replace")
    major, _, rest = found.partition(".")
    minor = rest.split(".", 1)[0]
    if major != str(ABI_MAJOR) or not minor.isdigit() or int(minor) < ABI_MINOR:
        needs = f"{ABI_MAJOR}.x" if major != str(ABI_MAJOR) else f"{ABI_MAJOR}.{ABI_MINOR} or later"
        raise ImportError(
            f"codomyrmex_keys: {path} is version {found or '(unknown)'} of the library, but this package "
            f"needs version {needs}: install libcodomyrmex-keys{ABI_MAJOR} or a wheel that bundles it"
        )
    return cdll


def _load() -> tuple[ctypes.CDLL, str]:
    from_env = os.environ.get(LIB_DIR_ENV)
    if from_env:
        path = os.path.join(os.path.abspath(from_env), _SONAME)
        try:
            return _open(path), path
        except OSError as err:
            raise ImportError(f"codomyrmex_keys: cannot load {path} (from ${LIB_DIR_ENV}): {err}") from err

    errors = []
    candidates = [str(_BUNDLED)] if _BUNDLED.is_file() else []
    candidates.append(_SONAME)  # the dynamic loader's search path, never the current directory
    for candidate in candidates:
        try:
            return _open(candidate), candidate
        except OSError as err:
            errors.append(str(err))
    raise ImportError(
        f"codomyrmex_keys: cannot find the native library (tried {', '.join(candidates)}): "
        f"{'; '.join(errors)}. Install a wheel that bundles it (pip install codomyrmex-keys), the "
        f"system library (libcodomyrmex-keys{ABI_MAJOR}), or set ${LIB_DIR_ENV} to the directory "
        f"holding {_SONAME}."
    )


lib, library_path = _load()

_u8p = c_void_p  # byte buffers: bytes, ctypes arrays or None
_sizep = POINTER(c_size_t)
_status = c_int  # codomyrmex_status is a C enum
_alg = c_uint32  # codomyrmex_hash_alg

_PROTOTYPES: Final[list[tuple[str, Any, list[Any]]]] = [
    # §3 library-wide
    ("codomyrmex_version", c_char_p, []),
    ("codomyrmex_status_name", c_char_p, [c_uint32]),
    ("codomyrmex_last_error_message", c_size_t, [_u8p, c_size_t]),
    ("codomyrmex_last_os_error", c_int32, []),
    ("codomyrmex_random_bytes", _status, [_u8p, c_size_t]),
    ("codomyrmex_secure_zero", None, [_u8p, c_size_t]),
    # §4 algorithms
    ("codomyrmex_hash_alg_from_name", _status, [c_char_p, POINTER(c_uint32)]),
    ("codomyrmex_hash_digest_len", c_size_t, [_alg]),
    # §5 HMAC
    ("codomyrmex_hmac_compute", _status, [_alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_hmac_verify", _status, [_alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t]),
    ("codomyrmex_hmac_new", _status, [_alg, _u8p, c_size_t, POINTER(c_void_p)]),
    ("codomyrmex_hmac_update", _status, [c_void_p, _u8p, c_size_t]),
    ("codomyrmex_hmac_finish", _status, [c_void_p, _u8p, c_size_t, _sizep]),
    ("codomyrmex_hmac_finish_verify", _status, [c_void_p, _u8p, c_size_t]),
    ("codomyrmex_hmac_free", None, [c_void_p]),
    # §6 HKDF
    ("codomyrmex_hkdf_derive", _status, [_alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t]),
    ("codomyrmex_hkdf_extract", _status, [_alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_hkdf_expand", _status, [_alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t]),
    # §7 key manager
    ("codomyrmex_key_manager_open", _status, [c_char_p, POINTER(c_void_p)]),
    ("codomyrmex_key_manager_open_with", _status, [c_char_p, c_void_p, POINTER(c_void_p)]),
    ("codomyrmex_key_manager_free", None, [c_void_p]),
    ("codomyrmex_key_manager_dir", _status, [c_void_p, _u8p, c_size_t, _sizep]),
    ("codomyrmex_key_manager_store", _status, [c_void_p, c_char_p, _u8p, c_size_t]),
    ("codomyrmex_key_manager_create", _status, [c_void_p, c_char_p, _u8p, c_size_t]),
    ("codomyrmex_key_manager_generate", _status, [c_void_p, c_char_p, c_size_t]),
    ("codomyrmex_key_manager_get", _status, [c_void_p, c_char_p, _u8p, c_size_t, _sizep]),
    ("codomyrmex_key_manager_exists", _status, [c_void_p, c_char_p, POINTER(c_bool)]),
    ("codomyrmex_key_manager_delete", _status, [c_void_p, c_char_p]),
    ("codomyrmex_key_manager_list", _status, [c_void_p, _u8p, c_size_t, _sizep, _sizep]),
    ("codomyrmex_key_manager_rotate", _status, [c_void_p, c_char_p, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_key_manager_hmac", _status, [c_void_p, c_char_p, _alg, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_key_manager_hmac_verify", _status, [c_void_p, c_char_p, _alg, _u8p, c_size_t, _u8p, c_size_t]),
    (
        "codomyrmex_key_manager_derive",
        _status,
        [c_void_p, c_char_p, _alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t],
    ),
    # §8 key versions
    ("codomyrmex_key_manager_current_version", _status, [c_void_p, c_char_p, POINTER(c_uint32)]),
    ("codomyrmex_key_manager_get_version", _status, [c_void_p, c_char_p, c_uint32, _u8p, c_size_t, _sizep]),
    ("codomyrmex_key_manager_list_versions", _status, [c_void_p, c_char_p, POINTER(c_uint32), c_size_t, _sizep]),
    ("codomyrmex_key_manager_prune", _status, [c_void_p, c_char_p, c_uint32]),
    (
        "codomyrmex_key_manager_hmac_version",
        _status,
        [c_void_p, c_char_p, c_uint32, _alg, _u8p, c_size_t, _u8p, c_size_t, _sizep],
    ),
    (
        "codomyrmex_key_manager_derive_version",
        _status,
        [c_void_p, c_char_p, c_uint32, _alg, _u8p, c_size_t, _u8p, c_size_t, _u8p, c_size_t],
    ),
    (
        "codomyrmex_key_manager_hmac_tagged",
        _status,
        [c_void_p, c_char_p, _alg, _u8p, c_size_t, _u8p, c_size_t, _sizep],
    ),
    (
        "codomyrmex_key_manager_hmac_verify_tagged",
        _status,
        [c_void_p, c_char_p, _alg, _u8p, c_size_t, _u8p, c_size_t],
    ),
    # §9 and §11 open options
    ("codomyrmex_open_options_new", _status, [POINTER(c_void_p)]),
    ("codomyrmex_open_options_free", None, [c_void_p]),
    ("codomyrmex_open_options_set_read_only", _status, [c_void_p, c_bool]),
    ("codomyrmex_open_options_set_trusted_uid", _status, [c_void_p, c_uint32]),
    ("codomyrmex_open_options_set_lock_timeout_ms", _status, [c_void_p, c_uint32]),
    ("codomyrmex_open_options_set_kek_file", _status, [c_void_p, c_char_p]),
    ("codomyrmex_open_options_set_kek_credential", _status, [c_void_p, c_char_p]),
    ("codomyrmex_open_options_set_require_sealed", _status, [c_void_p, c_bool]),
    # §12 open options of an etcd source
    ("codomyrmex_open_options_set_timeout_ms", _status, [c_void_p, c_uint32]),
    ("codomyrmex_open_options_set_tls", _status, [c_void_p, c_char_p, c_char_p, c_char_p]),
    ("codomyrmex_open_options_set_auth", _status, [c_void_p, c_char_p, c_char_p]),
    # §11 sealing, §12 staged rotation
    ("codomyrmex_key_manager_seal_all", _status, [c_void_p, _sizep]),
    ("codomyrmex_key_manager_stage", _status, [c_void_p, c_char_p, _u8p, c_size_t, POINTER(c_uint32)]),
    ("codomyrmex_key_manager_stage_generate", _status, [c_void_p, c_char_p, c_size_t, POINTER(c_uint32)]),
    ("codomyrmex_key_manager_promote", _status, [c_void_p, c_char_p, c_uint32]),
    # §10 keyrings
    ("codomyrmex_key_manager_load", _status, [c_void_p, c_char_p, _alg, c_uint32, POINTER(c_void_p)]),
    ("codomyrmex_keyring_free", None, [c_void_p]),
    ("codomyrmex_keyring_refresh", _status, [c_void_p, POINTER(c_bool)]),
    ("codomyrmex_keyring_current_version", _status, [c_void_p, POINTER(c_uint32)]),
    ("codomyrmex_keyring_hmac", _status, [c_void_p, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_keyring_hmac_verify", _status, [c_void_p, _u8p, c_size_t, _u8p, c_size_t]),
    ("codomyrmex_keyring_hmac_tagged", _status, [c_void_p, _u8p, c_size_t, _u8p, c_size_t, _sizep]),
    ("codomyrmex_keyring_hmac_verify_tagged", _status, [c_void_p, _u8p, c_size_t, _u8p, c_size_t]),
]

for _name, _restype, _argtypes in _PROTOTYPES:
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def last_error_message() -> str:
    """This thread's last error message from the library (``""`` if it has had no failure)."""
    buf = ctypes.create_string_buffer(256)
    n = int(lib.codomyrmex_last_error_message(buf, len(buf)))
    if n >= len(buf):
        buf = ctypes.create_string_buffer(n + 1)
        n = int(lib.codomyrmex_last_error_message(buf, len(buf)))
    return buf.raw[: min(n, len(buf) - 1)].decode("utf-8", "replace")


def last_os_error() -> int | None:
    """The errno behind this thread's last failure (``None`` if it had none, or there was no failure)."""
    return int(lib.codomyrmex_last_os_error()) or None


def check(status: int) -> None:
    """Raises the exception for a nonzero status, with the message and errno of the call that just failed.

    Must run on the thread that made the call, before any other library call
    on it (both are per thread).
    """
    if status != Status.OK:
        raise error_for(status, last_error_message(), last_os_error())


def secure_zero_raw(buf: Any, size: int) -> None:
    """Zeroes ``size`` bytes of a ctypes buffer with codomyrmex_secure_zero."""
    if size > 0:
        lib.codomyrmex_secure_zero(buf, size)
