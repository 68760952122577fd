//! The C interface: `extern "C"` functions, status codes and opaque handles,
//! declared in `include/codomyrmex_keys.h`.
//!
//! This layer owns every C convention — buffer sizes, NUL-terminated and
//! NUL-joined strings, version 0 meaning "current", parameter names in
//! messages — and nothing else: each body converts its arguments through
//! [`args`], calls the safe API and returns, inside one panic guard
//! ([`boundary`]). One module per C object.

pub(crate) mod args;
pub(crate) mod boundary;
pub(crate) mod handle;

pub mod alg;
pub mod hkdf;
pub mod hmac;
pub mod key_manager;
pub mod keyring;
pub mod library;
pub mod options;
pub mod status;
