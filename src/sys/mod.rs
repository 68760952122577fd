//! The system calls that `rustix` does not offer, wrapped in safe
//! functions. This is the only module outside the C layer that may use
//! `unsafe`; every block says why it is sound.

pub(crate) mod lock;
pub(crate) mod user;
