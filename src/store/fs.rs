//! File-system helpers shared by the sources that keep keys in files:
//! names built in place, what `fstat` says, reading a key file completely,
//! and one way to describe a refused file.

use super::key_id::MAX_KEY_ID_LEN;
use crate::error::{Error, ErrorKind, Result, describe_errno};
use crate::secret::SecretBytes;
use rustix::fs::{FileType, Mode, OFlags, RawDir, Stat};
use rustix::io::Errno;
use std::ffi::{CStr, OsStr};
use std::fmt;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Flags for every open of an existing entry: never leak into a child
/// process, never block on a FIFO, never become a controlling terminal.
pub(super) const OPEN_FLAGS: OFlags = OFlags::CLOEXEC
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY);

/// A file name built in place: `<prefix><text><suffix>` and a NUL, for a
/// text of at most [`MAX_KEY_ID_LEN`] bytes with no NUL (a valid key id or
/// a version number). Building one allocates nothing.
pub(super) struct FileName {
    bytes: [u8; MAX_KEY_ID_LEN + 16],
    len: usize,
}

impl FileName {
    /// `<prefix><text><suffix>`; the parts must fit (they always do for a
    /// valid key id and the few-byte affixes the stores use).
    pub fn new(prefix: &str, text: &str, suffix: &str) -> FileName {
        let mut name = FileName {
            bytes: [0; MAX_KEY_ID_LEN + 16],
            len: 0,
        };
        for part in [prefix.as_bytes(), text.as_bytes(), suffix.as_bytes()] {
            // Keep room for the NUL that the zeroed buffer already holds.
            let end = (name.len + part.len()).min(name.bytes.len() - 1);
            name.bytes[name.len..end].copy_from_slice(&part[..end - name.len]);
            name.len = end;
        }
        name
    }

    /// The name as a C string.
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes[..=self.len]).unwrap_or(c"")
    }
}

impl std::ops::Deref for FileName {
    type Target = CStr;

    fn deref(&self) -> &CStr {
        self.as_c_str()
    }
}

/// `dir/name`, for messages.
pub(super) fn join(dir: &Path, name: &CStr) -> PathBuf {
    dir.join(OsStr::from_bytes(name.to_bytes()))
}

/// The file type in `st`.
pub(super) fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// The permission bits in `st`.
pub(super) fn permissions(st: &Stat) -> u32 {
    Mode::from_raw_mode(st.st_mode).bits()
}

/// A word for a file type, for messages.
pub(super) fn file_type_name(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        _ => "of an unknown type",
    }
}

/// What a file holding key bytes is, for messages: `key 'api'`,
/// `key 'api' version 3`.
#[derive(Clone, Copy)]
pub(super) enum Label<'a> {
    Key(&'a str),
    Version(&'a str, u32),
}

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Key(id) => write!(f, "key '{id}'"),
            Label::Version(id, version) => write!(f, "key '{id}' version {version}"),
        }
    }
}

/// An error of `kind` saying that the file `path`, holding `label`, `why`.
pub(super) fn refuse(label: Label<'_>, path: &Path, kind: ErrorKind, why: &str) -> Error {
    Error::new(kind, format!("{label}: '{}' {why}", path.display()))
}

/// The error for an entry of the wrong type: a symbolic link is insecure,
/// anything else is not a key file.
pub(super) fn wrong_type(label: Label<'_>, path: &Path, file_type: FileType) -> Error {
    match file_type {
        FileType::Symlink => refuse(
            label,
            path,
            ErrorKind::InsecurePermissions,
            "is a symbolic link; key files must be regular files",
        ),
        other => refuse(
            label,
            path,
            ErrorKind::Corrupt,
            &format!("is {}, not a regular file", file_type_name(other)),
        ),
    }
}

/// The error for a failed open of a key file that exists (`ENOENT` is the
/// caller's to handle).
pub(super) fn open_error(label: Label<'_>, path: &Path, errno: Errno) -> Error {
    match errno {
        Errno::LOOP => refuse(
            label,
            path,
            ErrorKind::InsecurePermissions,
            "is a symbolic link; key files must be regular files",
        ),
        // Opening a socket fails this way: not a key file.
        Errno::NXIO => refuse(label, path, ErrorKind::Corrupt, "is not a regular file"),
        _ => io_error("cannot open", path, errno),
    }
}

/// An [`ErrorKind::Io`] error of `action` on `path`.
pub(super) fn io_error(action: &str, path: &Path, errno: Errno) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{action} '{}': {}", path.display(), describe_errno(errno)),
    )
    .with_errno(errno)
}

/// Checks the size in `st` (1 to `max` bytes), then reads the whole open
/// file `file`.
pub(super) fn read_key_bytes(
    file: &OwnedFd,
    st: &Stat,
    max: usize,
    label: Label<'_>,
    path: &Path,
) -> Result<SecretBytes> {
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if size == 0 {
        return Err(refuse(label, path, ErrorKind::Corrupt, "is empty"));
    }
    if size > max as u64 {
        return Err(refuse(
            label,
            path,
            ErrorKind::Corrupt,
            &format!("has {size} bytes, over the limit of {max}"),
        ));
    }
    // The size was just checked, so it fits in usize.
    let mut bytes = SecretBytes::zeroed(usize::try_from(size).unwrap_or(0));
    let mut filled = 0;
    while filled < bytes.len() {
        match rustix::io::read(file, &mut bytes.as_mut_bytes()[filled..]) {
            Ok(0) => {
                return Err(refuse(
                    label,
                    path,
                    ErrorKind::Corrupt,
                    "shrank while it was read",
                ));
            }
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(errno) => return Err(io_error("cannot read", path, errno)),
        }
    }
    Ok(bytes)
}

/// Bytes of directory entries one `getdents64` call may return: 64 KiB,
/// about 1,500 names per call.
const LISTING_BUF_BYTES: usize = 64 * 1024;

/// Calls `visit` with every name in the directory `dir` (`.` and `..`
/// included), reading it with few large `getdents64` calls through a
/// descriptor of its own (so concurrent listings do not disturb each other).
pub(super) fn for_each_name(
    dir: &OwnedFd,
    path: &Path,
    mut visit: impl FnMut(&[u8]),
) -> Result<()> {
    let listing = rustix::fs::openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| io_error("cannot list", path, errno))?;
    let mut buf = vec![MaybeUninit::<u8>::uninit(); LISTING_BUF_BYTES];
    let mut entries = RawDir::new(listing, &mut buf);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(|errno| io_error("cannot list", path, errno))?;
        visit(entry.file_name().to_bytes());
    }
    Ok(())
}
