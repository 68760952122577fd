//! The library's direct use of the operating system's memory calls: the one
//! place outside the C layer where `unsafe` code lives.

pub(crate) mod mem;
