//! The operating system's CSPRNG.

use crate::error::{Error, ErrorKind, Result, describe_errno};
use rustix::io::Errno;
use rustix::rand::{GetRandomFlags, getrandom};

/// Fills `buf` from the operating system's CSPRNG (`getrandom(2)`).
///
/// # Errors
/// [`ErrorKind::Io`] if the kernel refuses (practically never once the
/// system has booted).
pub fn random_bytes(buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match getrandom(&mut buf[filled..], GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(errno) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("getrandom failed: {}", describe_errno(errno)),
                )
                .with_errno(errno));
            }
        }
    }
    Ok(())
}
