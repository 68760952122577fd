//! Exclusive locks on one byte of a file, shared by every thread and
//! process that opens the file: open-file-description locks
//! (`F_OFD_SETLK`), which `rustix` only offers for the whole file.

use rustix::fs::FlockOperation;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What a non-blocking lock attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The lock is now held through this open file description.
    Acquired,
    /// Another open file description holds it.
    Busy,
}

/// Tries once to lock byte `slot` of the open file `fd` for writing.
///
/// Open-file-description locks exclude other threads as well as other
/// processes, as long as each locker opened the file itself; different
/// slots do not exclude each other. Where the kernel or file system has no
/// such locks, the whole file is locked with `flock` instead.
pub(crate) fn try_lock_byte(fd: BorrowedFd<'_>, slot: u32) -> io::Result<Attempt> {
    // SAFETY: an all-zero `flock` is a valid value; the fields that matter
    // are set below.
    let mut range: libc::flock = unsafe { std::mem::zeroed() };
    range.l_type = libc::F_WRLCK as libc::c_short;
    range.l_whence = libc::SEEK_SET as libc::c_short;
    range.l_start = libc::off_t::from(slot);
    range.l_len = 1;
    loop {
        // SAFETY: `fd` is a live descriptor and `range` a valid flock
        // structure that fcntl only reads.
        let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &range) };
        if ret == 0 {
            return Ok(Attempt::Acquired);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN | libc::EACCES) => return Ok(Attempt::Busy),
            Some(libc::EINVAL) => return try_lock_whole_file(fd),
            _ => return Err(err),
        }
    }
}

fn try_lock_whole_file(fd: BorrowedFd<'_>) -> io::Result<Attempt> {
    match rustix::fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Attempt::Acquired),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(Attempt::Busy),
        Err(errno) => Err(errno.into()),
    }
}
