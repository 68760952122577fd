//! The writers' lock of a private directory: one byte per key of the file
//! `.lock`, which must be this user's own private file, held for a bounded
//! time at most.

use super::file::FILE_MODE;
use crate::error::{Error, ErrorKind, Result};
use crate::store::backend::WriteLock;
use crate::store::fs::{OPEN_FLAGS, file_type, io_error, permissions};
use crate::sys::lock::{Attempt, try_lock_byte};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// Name of the lock file in the key directory.
pub(super) const LOCK_FILE: &CStr = c".lock";

/// The longest pause between two attempts to take a busy lock.
const MAX_PAUSE: Duration = Duration::from_millis(5);

/// A lock on one key, released when dropped (by closing its own open file
/// description of the lock file).
pub(super) struct KeyLock(#[allow(dead_code)] OwnedFd);

impl WriteLock for KeyLock {}

/// Opens the lock file (creating it, mode 0600, if absent) and checks it:
/// a regular file of this user that nobody else can write. Anyone else's
/// file there could be locked forever by its owner.
pub(super) fn open_lock_file(dir: &OwnedFd, dir_path: &Path) -> Result<OwnedFd> {
    let path = dir_path.join(".lock");
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OPEN_FLAGS;
    let file = match rustix::fs::openat(dir, LOCK_FILE, flags, Mode::empty()) {
        Err(Errno::NOENT) => create_lock_file(dir, &path)?,
        other => other.map_err(|errno| refuse_open(&path, errno))?,
    };
    let st = rustix::fs::fstat(&file).map_err(|errno| io_error("cannot inspect", &path, errno))?;
    let uid = rustix::process::geteuid().as_raw();
    if file_type(&st) != FileType::RegularFile {
        return Err(insecure(&path, "is not a regular file"));
    }
    if st.st_uid != uid {
        return Err(insecure(
            &path,
            &format!(
                "is owned by uid {}, not by this user (uid {uid})",
                st.st_uid
            ),
        ));
    }
    if permissions(&st) & 0o022 != 0 {
        return Err(insecure(
            &path,
            &format!(
                "is writable by group or others (mode {:04o})",
                permissions(&st)
            ),
        ));
    }
    Ok(file)
}

/// Creates the lock file with mode 0600 (fixed through the descriptor when
/// a umask narrowed it); a concurrent creator's file is opened instead.
fn create_lock_file(dir: &OwnedFd, path: &Path) -> Result<OwnedFd> {
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OPEN_FLAGS;
    match rustix::fs::openat(dir, LOCK_FILE, flags, FILE_MODE) {
        Ok(file) => {
            rustix::fs::fchmod(&file, FILE_MODE)
                .map_err(|errno| io_error("cannot set mode 0600 on", path, errno))?;
            Ok(file)
        }
        Err(Errno::EXIST) => rustix::fs::openat(
            dir,
            LOCK_FILE,
            OFlags::RDWR | OFlags::NOFOLLOW | OPEN_FLAGS,
            Mode::empty(),
        )
        .map_err(|errno| refuse_open(path, errno)),
        Err(errno) => Err(io_error("cannot create", path, errno)),
    }
}

/// The error for a lock file that could not be opened: what stands there
/// is not a regular file (a link, a directory, a socket) or cannot be
/// opened at all.
fn refuse_open(path: &Path, errno: Errno) -> Error {
    match errno {
        Errno::LOOP => insecure(path, "is a symbolic link"),
        Errno::ISDIR => insecure(path, "is a directory"),
        Errno::NXIO | Errno::NODEV => insecure(path, "is not a regular file"),
        _ => io_error("cannot open", path, errno),
    }
}

fn insecure(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::InsecurePermissions,
        format!(
            "lock file '{}' {why}; it must be a private file of this user",
            path.display()
        ),
    )
}

/// Locks the byte of `key_id` in the lock file, waiting at most `timeout`
/// (`None`: as long as it takes) for another writer to finish.
pub(super) fn lock_key(
    dir: &OwnedFd,
    dir_path: &Path,
    key_id: &str,
    timeout: Option<Duration>,
) -> Result<KeyLock> {
    let file = open_lock_file(dir, dir_path)?;
    let slot = lock_slot(key_id);
    let started = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        match try_lock_byte(file.as_fd(), slot) {
            Ok(Attempt::Acquired) => return Ok(KeyLock(file)),
            Ok(Attempt::Busy) => {}
            Err(err) => {
                return Err(Error::io("cannot lock", &dir_path.join(".lock"), &err));
            }
        }
        if timeout.is_some_and(|limit| started.elapsed() >= limit) {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "timed out waiting for the lock on '{}' (key '{key_id}', {} ms): another \
                     writer holds it",
                    dir_path.display(),
                    started.elapsed().as_millis()
                ),
            )
            .with_errno(Errno::TIMEDOUT));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Tries once to lock the byte of `key_id`: `None` if another writer holds
/// it.
pub(super) fn try_lock_key(
    dir: &OwnedFd,
    dir_path: &Path,
    key_id: &str,
) -> Result<Option<KeyLock>> {
    let file = open_lock_file(dir, dir_path)?;
    match try_lock_byte(file.as_fd(), lock_slot(key_id)) {
        Ok(Attempt::Acquired) => Ok(Some(KeyLock(file))),
        Ok(Attempt::Busy) => Ok(None),
        Err(err) => Err(Error::io("cannot lock", &dir_path.join(".lock"), &err)),
    }
}

/// The lock-file byte that writers of `key_id` lock (FNV-1a of the id).
fn lock_slot(key_id: &str) -> u32 {
    let hash = key_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash & 0x3fff_ffff
}
