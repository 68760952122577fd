//! Hash algorithm values and names.

use super::args::{Args, c_str, out_param};
use super::boundary::{guard, guard_value};
use super::status::{Failure, codomyrmex_status};
use crate::alg::HashAlg;
use std::ffi::c_char;

/// A hash algorithm: one of `CODOMYRMEX_SHA256`, `CODOMYRMEX_SHA384`,
/// `CODOMYRMEX_SHA512`. A plain integer, so any other value is reported as
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM` rather than being undefined.
#[allow(non_camel_case_types)]
pub type codomyrmex_hash_alg = u32;

/// SHA-256 (32-byte digest).
pub const CODOMYRMEX_SHA256: codomyrmex_hash_alg = 1;
/// SHA-384 (48-byte digest).
pub const CODOMYRMEX_SHA384: codomyrmex_hash_alg = 2;
/// SHA-512 (64-byte digest).
pub const CODOMYRMEX_SHA512: codomyrmex_hash_alg = 3;

// The header needs literal values; these keep them equal to the safe API's.
const _: () = assert!(CODOMYRMEX_SHA256 == HashAlg::Sha256.value());
const _: () = assert!(CODOMYRMEX_SHA384 == HashAlg::Sha384.value());
const _: () = assert!(CODOMYRMEX_SHA512 == HashAlg::Sha512.value());

/// The algorithm with C value `alg`.
pub(crate) fn hash_alg(alg: codomyrmex_hash_alg) -> Result<HashAlg, Failure> {
    Ok(HashAlg::from_value(alg)?)
}

/// Parses an algorithm name: `"sha256"`, `"sha384"`, `"sha512"` in any
/// letter case, also with `-` or `_` after `sha` (`"SHA-256"`).
///
/// Sets `*out_alg` on success only. Returns `CODOMYRMEX_OK`,
/// `CODOMYRMEX_ERR_NULL_POINTER` (`name` or `out_alg` NULL) or
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`.
///
/// # Safety
/// `name` must be NULL or NUL-terminated; `out_alg` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hash_alg_from_name(
    name: *const c_char,
    out_alg: *mut codomyrmex_hash_alg,
) -> codomyrmex_status {
    guard(|args: &mut Args| {
        let name = c_str!(args, name);
        let out_alg = out_param!(args, out_alg);
        // Invalid UTF-8 cannot name an algorithm; the lossy text still
        // shows the caller what was passed.
        let alg = HashAlg::from_name(&String::from_utf8_lossy(name.to_bytes()))?;
        out_alg.set(alg.value());
        Ok(())
    })
}

/// The digest length of `alg` in bytes (32, 48 or 64), which is also the
/// length of its HMAC and PRK; 0 for an unknown value.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_hash_digest_len(alg: codomyrmex_hash_alg) -> usize {
    guard_value(0, || {
        HashAlg::from_value(alg).map_or(0, HashAlg::digest_len)
    })
}
