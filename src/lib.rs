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
//! let api = keys.key("api")?;
//! let mac = api.hmac(HashAlg::Sha256, b"hello")?;
//! api.hmac_verify(HashAlg::Sha256, b"hello", mac.as_bytes())?;
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
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod alg;
mod error;
#[cfg(feature = "etcd")]
mod etcd;
mod hkdf;
mod hmac;
mod hmac_key;
mod keyring;
mod random;
mod seal;
mod secret;
#[cfg(test)]
mod stack_depth;
mod store;
#[allow(unsafe_code)]
mod sys;

#[allow(unsafe_code)]
pub mod ffi;

/// The etcd client, reachable from outside the crate only for its own
/// integration tests (`tests/etcd_client.rs`): not a supported API, and
/// free to change in any release. Applications reach etcd through the key
/// manager.
#[cfg(feature = "etcd")]
#[doc(hidden)]
pub mod etcd_client_for_tests {
    pub use crate::etcd::*;
}

pub use crate::alg::{HashAlg, MAX_DIGEST_LEN};
pub use crate::error::{Argument, Error, ErrorKind, Result, Status};
pub use crate::hkdf::{Prk, hkdf_derive, hkdf_expand, hkdf_extract};
pub use crate::hmac::{HmacStream, Mac, hmac, hmac_verify};
pub use crate::random::random_bytes;
pub use crate::secret::SecretBytes;

pub use crate::keyring::Keyring;
pub use crate::store::{
    DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_TIMEOUT, DEFAULT_LOCK_TIMEOUT, KEY_DIR_ENV, Key, KeyManager,
    Location, MAX_KEY_ID_LEN, MAX_KEY_LEN, OpenOptions, SourceStatus, TAG_OVERHEAD,
    TaggedHmacStream, TaggedMac, TaggedVerifier, Version, Versions, default_key_dir,
    validate_key_id,
};
pub use crate::sys::mem::{LockStats, lock_stats};

/// The README's Rust example, run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
