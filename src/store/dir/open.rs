//! Opening a private key directory: the path made plain, missing
//! directories created with their final mode, and the checks that nobody
//! else can read, write or swap it.

use crate::error::{Argument, Error, ErrorKind, Result};
use crate::store::fs::{file_type, io_error, permissions};
use rustix::fs::{CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Mode of every directory the library creates.
pub(super) const DIR_MODE: Mode = Mode::RWXU;

/// Permission bits that let someone other than the owner write.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The sticky bit: only an entry's owner may rename or remove it.
const STICKY: u32 = 0o1000;

/// A private key directory, open.
pub(super) struct Opened {
    pub fd: OwnedFd,
    /// The directory's path with every symbolic link resolved.
    pub path: PathBuf,
}

/// Opens the key directory `path`, creating it and missing parents (each
/// with mode 0700 from the instant it exists) when `create` is set.
pub(super) fn open_private_dir(path: &Path, create: bool) -> Result<Opened> {
    let path = plain_path(path)?;
    let (parent, name) = split(&path);
    let parent_fd = match parent {
        Some(parent) => open_or_create_dir(parent, create)?,
        None => rustix::fs::openat(CWD, c".", dir_flags(), Mode::empty())
            .map_err(|errno| io_error("cannot open", Path::new("."), errno))?,
    };
    let fd = open_or_make_in(&parent_fd, name, &path, create)?;
    check_private(&fd, &path)?;
    let resolved = resolved_path(&fd).unwrap_or_else(|| path.clone());
    check_ancestors(&fd, &resolved, &resolved)?;
    Ok(Opened { fd, path: resolved })
}

/// `path` without trailing `/` and `/.`: `keys/` and `keys/.` name the
/// entry `keys` itself, so that a symbolic link there is refused as it is
/// for `keys`. A path ending in `..` is refused: it names a directory
/// other than the one its text suggests when a link is involved.
fn plain_path(path: &Path) -> Result<PathBuf> {
    let mut bytes = path.as_os_str().as_bytes();
    loop {
        if let Some(rest) = bytes.strip_suffix(b"/").filter(|rest| !rest.is_empty()) {
            bytes = rest;
        } else if let Some(rest) = bytes.strip_suffix(b"/.").filter(|rest| !rest.is_empty()) {
            bytes = rest;
        } else {
            break;
        }
    }
    if bytes.is_empty() {
        return Err(Error::invalid(
            Argument::Location,
            "the key directory path is empty",
        ));
    }
    if bytes.contains(&0) {
        return Err(Error::invalid(
            Argument::Location,
            format!(
                "the key directory path '{}' contains a NUL byte",
                path.display().to_string().escape_debug()
            ),
        ));
    }
    if bytes == b".." || bytes.ends_with(b"/..") {
        return Err(Error::invalid(
            Argument::Location,
            format!(
                "key directory '{}' ends in '..': name the directory itself",
                path.display()
            ),
        ));
    }
    Ok(PathBuf::from(OsStr::from_bytes(bytes)))
}

/// The parent (if the path has one) and the last component.
fn split(path: &Path) -> (Option<&Path>, &OsStr) {
    let bytes = path.as_os_str().as_bytes();
    match bytes.iter().rposition(|&b| b == b'/') {
        Some(0) => (Some(Path::new("/")), OsStr::from_bytes(&bytes[1..])),
        Some(at) => (
            Some(Path::new(OsStr::from_bytes(&bytes[..at]))),
            OsStr::from_bytes(&bytes[at + 1..]),
        ),
        None => (None, path.as_os_str()),
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens the directory `path` (following links on the way, as any path
/// lookup does); when it is missing and `create` is set, makes it and its
/// missing parents, each with mode 0700.
fn open_or_create_dir(path: &Path, create: bool) -> Result<OwnedFd> {
    match rustix::fs::openat(CWD, path, dir_flags(), Mode::empty()) {
        Ok(fd) => Ok(fd),
        Err(Errno::NOENT) if create => {
            let (parent, name) = split(path);
            let parent_fd = match parent {
                Some(parent) => open_or_create_dir(parent, create)?,
                None => rustix::fs::openat(CWD, c".", dir_flags(), Mode::empty())
                    .map_err(|errno| io_error("cannot open", Path::new("."), errno))?,
            };
            open_or_make_in(&parent_fd, name, path, create)
        }
        Err(errno) => Err(io_error("cannot open key directory", path, errno)),
    }
}

/// Opens the directory `name` in `parent` without following a link there;
/// when it is missing and `create` is set, makes it (mode 0700), but only
/// in a parent that passes the checks of [`check_ancestors`]: a refused
/// open leaves nothing behind.
fn open_or_make_in(parent: &OwnedFd, name: &OsStr, path: &Path, create: bool) -> Result<OwnedFd> {
    let open = || rustix::fs::openat(parent, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty());
    match open() {
        Err(Errno::NOENT) if create => {
            check_holder(parent, path)?;
            match make_dir(parent, name, path)? {
                true => open_new_dir(parent, name, path),
                false => open().map_err(|errno| refuse_dir_open(path, errno)),
            }
        }
        opened => opened.map_err(|errno| refuse_dir_open(path, errno)),
    }
}

/// Makes the directory `name` in `parent` with mode 0700; whether it was
/// made here (it may exist already).
pub(super) fn make_dir(parent: &impl AsFd, name: &OsStr, path: &Path) -> Result<bool> {
    match rustix::fs::mkdirat(parent, name, DIR_MODE) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(errno) => Err(io_error("cannot create key directory", path, errno)),
    }
}

/// Opens the directory `name` that this process just made in `parent`, and
/// gives it mode 0700 exactly: only a umask that removes the owner's own
/// bits narrows it, possibly below what opening it for reading needs. The
/// mode is set through a descriptor of that very directory (its
/// `/proc/self/fd` link), never through a path someone could swap.
pub(super) fn open_new_dir(parent: &impl AsFd, name: &OsStr, path: &Path) -> Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let handle = rustix::fs::openat(parent, name, flags, Mode::empty())
        .map_err(|errno| refuse_dir_open(path, errno))?;
    rustix::fs::chmod(format!("/proc/self/fd/{}", handle.as_raw_fd()), DIR_MODE)
        .map_err(|errno| io_error("cannot set mode 0700 on", path, errno))?;
    rustix::fs::openat(&handle, c".", dir_flags(), Mode::empty())
        .map_err(|errno| io_error("cannot open", path, errno))
}

/// The error for a key directory that could not be opened.
fn refuse_dir_open(path: &Path, errno: Errno) -> Error {
    let is_symlink = rustix::fs::lstat(path).is_ok_and(|st| file_type(&st) == FileType::Symlink);
    if is_symlink || errno == Errno::LOOP {
        Error::new(
            ErrorKind::InsecurePermissions,
            format!("key directory '{}' is a symbolic link", path.display()),
        )
    } else {
        io_error("cannot open key directory", path, errno)
    }
}

/// Refuses a key directory that another user owns or may write.
fn check_private(fd: &OwnedFd, path: &Path) -> Result<()> {
    let st = rustix::fs::fstat(fd)
        .map_err(|errno| io_error("cannot inspect key directory", path, errno))?;
    let uid = rustix::process::geteuid().as_raw();
    if st.st_uid != uid {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "key directory '{}' is owned by uid {}, not by this user (uid {uid})",
                path.display(),
                st.st_uid
            ),
        ));
    }
    if permissions(&st) & GROUP_OTHER_WRITE != 0 {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "key directory '{}' is writable by group or others (mode {:04o})",
                path.display(),
                permissions(&st)
            ),
        ));
    }
    Ok(())
}

/// Refuses a key directory that sits, at any depth, in a directory that a
/// user other than root and this one could rename it in: owned by another
/// user, or writable by group or others without the sticky bit (the rule
/// `sshd` applies to `~/.ssh`). The walk goes up through `..` from the
/// open directory `fd` (at `resolved`), so it checks the directories
/// actually above it; messages name `key_dir`.
fn check_ancestors(fd: &OwnedFd, resolved: &Path, key_dir: &Path) -> Result<()> {
    // Path-only descriptors: walking up needs search permission, as the
    // path that reached the key directory did, but no read permission.
    let walk = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut current = rustix::fs::openat(fd, c".", walk, Mode::empty())
        .map_err(|errno| io_error("cannot open", resolved, errno))?;
    let mut names = resolved.ancestors().skip(1);
    loop {
        let here = rustix::fs::fstat(&current)
            .map_err(|errno| io_error("cannot inspect", resolved, errno))?;
        let parent = rustix::fs::openat(&current, c"..", walk, Mode::empty())
            .map_err(|errno| io_error("cannot open the parent of", resolved, errno))?;
        let st = rustix::fs::fstat(&parent)
            .map_err(|errno| io_error("cannot inspect the parent of", resolved, errno))?;
        if (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino) {
            return Ok(());
        }
        let name = names.next().unwrap_or(Path::new(".."));
        check_safe_holder(&st, name, key_dir)?;
        current = parent;
    }
}

/// Refuses to make the key directory (or a missing parent) `path` in
/// `parent` unless `parent` and every directory above it pass the checks
/// of [`check_ancestors`].
fn check_holder(parent: &OwnedFd, path: &Path) -> Result<()> {
    let st = rustix::fs::fstat(parent)
        .map_err(|errno| io_error("cannot inspect the parent of", path, errno))?;
    let parent_path = path.parent().unwrap_or(Path::new("."));
    check_safe_holder(&st, parent_path, path)?;
    let resolved = resolved_path(parent).unwrap_or_else(|| parent_path.to_path_buf());
    check_ancestors(parent, &resolved, path)
}

/// Refuses the directory `name` (with status `st`) above the key directory
/// `key_dir` if a user other than root and this one could rename entries
/// in it.
fn check_safe_holder(st: &rustix::fs::Stat, name: &Path, key_dir: &Path) -> Result<()> {
    let uid = rustix::process::geteuid().as_raw();
    let mode = permissions(st);
    let swappable = mode & GROUP_OTHER_WRITE != 0 && mode & STICKY == 0;
    if (st.st_uid != 0 && st.st_uid != uid) || swappable {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "key directory '{}' is inside '{}' (uid {}, mode {mode:04o}), where another user \
                 could replace it: each directory above a key directory must belong to root or \
                 this user (uid {uid}) and be writable only by its owner unless it has the \
                 sticky bit",
                key_dir.display(),
                name.display(),
                st.st_uid
            ),
        ));
    }
    Ok(())
}

/// The path the kernel has for the open directory `fd`.
fn resolved_path(fd: &OwnedFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_and_dots_name_the_entry_itself() {
        for (given, plain) in [
            ("keys/", "keys"),
            ("keys/.", "keys"),
            ("keys/./", "keys"),
            ("a/keys//.//", "a/keys"),
            ("/", "/"),
            (".", "."),
            ("./", "."),
        ] {
            assert_eq!(
                plain_path(Path::new(given)).unwrap(),
                Path::new(plain),
                "{given}"
            );
        }
        for bad in ["", "..", "keys/..", "keys/../"] {
            assert!(plain_path(Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_gives_parent_and_name() {
        assert_eq!(
            split(Path::new("/k")),
            (Some(Path::new("/")), OsStr::new("k"))
        );
        assert_eq!(
            split(Path::new("a/b/k")),
            (Some(Path::new("a/b")), OsStr::new("k"))
        );
        assert_eq!(split(Path::new("k")), (None, OsStr::new("k")));
    }
}
