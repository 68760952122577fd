//! The system calls that `rustix` does not offer or does not make safe,
//! wrapped in safe functions: the only place outside the C layer where
//! `unsafe` code lives; every block says why it is sound.

pub(crate) mod lock;
pub(crate) mod mem;
pub(crate) mod user;
pub(crate) mod wipe;
