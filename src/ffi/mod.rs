//! The C interface: `extern "C"` functions, status codes and opaque handles,
//! declared in `include/codomyrmex_keys.h`.
//!
//! This layer only converts pointers, checks arguments, calls the safe API
//! and maps its errors to statuses. Every body runs inside one panic guard
//! ([`boundary`]); every raw pointer goes through one of the helpers in
//! [`ptr`].

mod boundary;
mod ptr;

pub mod alg;
pub mod hkdf;
pub mod hmac;
pub mod key_manager;
pub mod library;
pub mod status;
pub mod versions;
