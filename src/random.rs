//! The operating system's CSPRNG.

use crate::error::{Error, ErrorKind, Result, describe_os_error};
use std::io;

/// Fills `buf` from the operating system's CSPRNG (`getrandom(2)`).
///
/// # Errors
/// [`ErrorKind::Io`] if the kernel refuses (practically never once the
/// system has booted).
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is a valid, writable region of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::new(
                ErrorKind::Io,
                format!("getrandom failed: {}", describe_os_error(&err)),
            ));
        }
        filled += n.unsigned_abs();
    }
    Ok(())
}
