//! # codomyrmex_keys
//!
//! A small, hardened key store with HMAC (RFC 2104) and HKDF (RFC 5869) over
//! SHA-256, SHA-384 and SHA-512, usable from Rust through a safe API and from
//! C (and anything with a C FFI) through the functions in [`ffi`], declared in
//! `include/codomyrmex_keys.h`.
//!
//! ```
//! use codomyrmex_keys::{HashAlg, KeyManager, hmac, hmac_verify};
//!
//! let dir = std::env::temp_dir().join(format!("codomyrmex-doc-{}", std::process::id()));
//! let keys = KeyManager::open(&dir)?;
//! keys.generate("api", 32)?;
//! let mac = keys.hmac("api", HashAlg::Sha256, b"hello")?;
//! keys.hmac_verify("api", HashAlg::Sha256, b"hello", mac.as_bytes())?;
//!
//! let key = keys.get("api")?;
//! assert!(hmac_verify(HashAlg::Sha256, &key, b"hello", mac.as_bytes()).is_ok());
//! assert_eq!(hmac(HashAlg::Sha256, &key, b"hello"), mac);
//! keys.delete("api")?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), codomyrmex_keys::Error>(())
//! ```
//!
//! The safe modules know nothing of C; [`ffi`] converts pointers, checks
//! arguments, calls them and maps their errors to status codes.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod alg;
mod error;
mod hkdf;
mod hmac;
// Precomputed keys, locked memory and keyrings wait for the key store and
// the C layer to use them; until then only tests and benchmarks do.
#[cfg_attr(not(any(test, feature = "internals")), allow(dead_code))]
mod hmac_key;
#[cfg_attr(not(any(test, feature = "internals")), allow(dead_code))]
mod keyring;
mod random;
mod secret;
#[cfg(test)]
mod stack_depth;
mod store;
#[cfg_attr(not(any(test, feature = "internals")), allow(dead_code))]
mod sys;

pub mod ffi;

pub use crate::alg::{HashAlg, MAX_DIGEST_LEN};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::hkdf::{Prk, hkdf_derive, hkdf_expand, hkdf_extract};
pub use crate::hmac::{HmacStream, Mac, hmac, hmac_verify};
pub use crate::random::random_bytes;
pub use crate::secret::SecretBytes;

/// Crate-private hot-path types, exposed for the benchmarks only (feature
/// `internals`); no stability promise.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    pub use crate::hmac_key::HmacKey;
    pub use crate::keyring::{KeySet, KeySource, Keyring, KeyringTag, LoadedKey, Marker};
    pub use crate::sys::mem::{LockStats, lock_stats};
}
pub use crate::store::{
    KeyManager, MAX_KEY_ID_LEN, MAX_KEY_LEN, TAG_OVERHEAD, TaggedHmacStream, TaggedMac,
    TaggedVerifier, default_key_dir, validate_key_id,
};
