//! Loading a KEK from a file or a systemd credential, refusing any file
//! that someone besides its owner and this user could read or replace.
//!
//! How systemd lays out credentials (`LoadCredential=`,
//! `LoadCredentialEncrypted=`, `SetCredential=`, `ImportCredential=`; see
//! systemd.exec(5), "Credentials", and systemd's `exec-credential.c`): the
//! service manager writes each credential as a regular file named after it
//! in a per-unit directory, `$CREDENTIALS_DIRECTORY` (normally
//! `/run/credentials/<unit>`, a read-only tmpfs or ramfs mounted for the
//! unit). The file is created 0600 and then made 0400, owned by the
//! manager's user (root for the system manager). If the service runs as
//! another user (`User=`, `DynamicUser=`), the manager grants that user read
//! access with a POSIX ACL entry (`user:<uid>:r--`, mask `r--`), which makes
//! the file's mode read 0440 although its group has no access; only where
//! the file system has no ACLs does it instead hand the file to the service
//! user (0400, owned by that user) and remount the directory read-only.
//!
//! So a credential is accepted when it is owned by root or this user and
//! either has no group or other permission bits (0400, 0600) or has no
//! other bits and an ACL that grants nothing to anyone besides its owner and
//! this user (the group, named groups and other users all get nothing after
//! the mask). A plain KEK file gets the strict rule: no group or other bits
//! at all.

use super::kek::{KEK_LEN, Kek, zeroed_kek_bytes};
use crate::error::{Error, ErrorKind, Result};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::path::Path;

/// The environment variable through which systemd names the directory of a
/// service's credentials.
pub(crate) const CREDENTIALS_DIRECTORY_ENV: &str = "CREDENTIALS_DIRECTORY";

/// Flags of the one open of a KEK file: read only, never follow a symbolic
/// link, never leak into a child process, never block on a FIFO, never
/// become a controlling terminal.
const OPEN_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY);

/// Who besides its owner a KEK file may give access to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Readers {
    /// Nobody: no group or other permission bit (a KEK file).
    OwnerOnly,
    /// This user, through a POSIX ACL entry (a systemd credential).
    OwnerAndThisUser,
}

impl Kek {
    /// Reads the KEK from the file at `path`: a regular file (not a
    /// symbolic link) owned by this process's effective user or by root,
    /// with no group or other permission bits, holding exactly
    /// [`KEK_LEN`] bytes. The file is opened once and read once.
    ///
    /// # Errors
    /// [`ErrorKind::InsecurePermissions`] for a symbolic link, another
    /// owner or any group/other permission bit; [`ErrorKind::Corrupt`] for
    /// anything but a regular file (a directory, a FIFO: opening never
    /// blocks); [`ErrorKind::InvalidArgument`] for a size other than
    /// [`KEK_LEN`]; [`ErrorKind::Io`] naming the errno when the system
    /// refuses (absent file: `ENOENT`; unreadable: `EACCES`).
    pub(crate) fn load_file(path: &Path) -> Result<Kek> {
        KekSource {
            path,
            what: "KEK file",
            readers: Readers::OwnerOnly,
        }
        .load()
    }

    /// Reads the KEK from the systemd credential `name`: the file
    /// `$CREDENTIALS_DIRECTORY/<name>`, as `LoadCredential=` or
    /// `LoadCredentialEncrypted=` provide it, with the checks of
    /// [`Kek::load_file`] except that an ACL granting this user (and no one
    /// else) read access is accepted, as systemd sets one up for a service
    /// running under its own user.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for a name that is empty, `.`, `..`
    /// or contains `/` or NUL, or when `$CREDENTIALS_DIRECTORY` is unset,
    /// empty or relative; otherwise as [`Kek::load_file`].
    pub(crate) fn load_credential(name: &str) -> Result<Kek> {
        let dir = std::env::var_os(CREDENTIALS_DIRECTORY_ENV);
        Kek::load_credential_in(dir.as_deref(), name)
    }

    /// [`Kek::load_credential`] with the value of `$CREDENTIALS_DIRECTORY`
    /// given (`None`: unset).
    pub(super) fn load_credential_in(dir: Option<&OsStr>, name: &str) -> Result<Kek> {
        check_credential_name(name)?;
        let path = credentials_directory(dir)?.join(name);
        let what = format!("KEK credential '{}' at", name.escape_debug());
        KekSource {
            path: &path,
            what: &what,
            readers: Readers::OwnerAndThisUser,
        }
        .load()
    }
}

/// Refuses a credential name that is not a plain file name.
pub(crate) fn check_credential_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it names a directory"
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "invalid KEK credential name \"{}\": {problem}",
            name.escape_debug()
        ),
    ))
}

/// The credentials directory named by `$CREDENTIALS_DIRECTORY` (`dir`).
fn credentials_directory(dir: Option<&OsStr>) -> Result<&Path> {
    let problem = match dir.map(Path::new) {
        None => "is not set",
        Some(dir) if dir.as_os_str().is_empty() => "is empty",
        Some(dir) if !dir.is_absolute() => "is not an absolute path",
        Some(dir) => return Ok(dir),
    };
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "cannot load a KEK credential: ${CREDENTIALS_DIRECTORY_ENV} {problem} \
             (systemd sets it for a service with LoadCredential= or LoadCredentialEncrypted=)"
        ),
    ))
}

/// A KEK file being loaded.
struct KekSource<'a> {
    /// Where it is.
    path: &'a Path,
    /// How messages name it, before its path: "KEK file".
    what: &'a str,
    /// Who besides its owner it may give access to.
    readers: Readers,
}

impl KekSource<'_> {
    /// Opens, checks and reads the file.
    fn load(&self) -> Result<Kek> {
        let fd = self.open()?;
        let st = rustix::fs::fstat(&fd).map_err(|errno| self.os_error("cannot inspect", errno))?;
        self.check(&fd, &st)?;
        self.read(&fd)
    }

    /// Opens the file without following a symbolic link or blocking.
    fn open(&self) -> Result<OwnedFd> {
        rustix::fs::open(self.path, OPEN_FLAGS, Mode::empty()).map_err(|errno| match errno {
            Errno::LOOP => self.refuse(
                ErrorKind::InsecurePermissions,
                "is a symbolic link; a KEK must be a regular file",
            ),
            // Opening a socket fails this way.
            Errno::NXIO => self.refuse(ErrorKind::Corrupt, "is not a regular file"),
            _ => self.os_error("cannot open", errno),
        })
    }

    /// Refuses a file that is not a regular file private to its owner (and
    /// this user) of exactly [`KEK_LEN`] bytes.
    fn check(&self, fd: &OwnedFd, st: &Stat) -> Result<()> {
        let file_type = FileType::from_raw_mode(st.st_mode);
        if file_type != FileType::RegularFile {
            let why = format!("is {}, not a regular file", type_name(file_type));
            return Err(self.refuse(ErrorKind::Corrupt, &why));
        }
        let euid = rustix::process::geteuid().as_raw();
        owner_rule(st.st_uid, euid).map_err(|why| self.insecure(&why))?;
        self.check_permissions(fd, st.st_mode & 0o7777, euid)?;
        if usize::try_from(st.st_size).ok() != Some(KEK_LEN) {
            let why = format!("has {} bytes; a KEK is exactly {KEK_LEN} bytes", st.st_size);
            return Err(self.refuse(ErrorKind::InvalidArgument, &why));
        }
        Ok(())
    }

    /// Refuses group or other permission bits, except, for a credential, the
    /// group bits of an ACL that grants only this user.
    fn check_permissions(&self, fd: &OwnedFd, mode: u32, euid: u32) -> Result<()> {
        if mode & 0o077 == 0 {
            return Ok(());
        }
        if self.readers == Readers::OwnerAndThisUser && mode & 0o007 == 0 {
            let mut buf = [0; ACL_XATTR_MAX];
            match rustix::fs::fgetxattr(fd, ACL_XATTR, &mut buf[..]) {
                Ok(len) => {
                    return acl_rule(&buf[..len], euid)
                        .map_err(|why| self.insecure(&format!("(mode {mode:04o}) {why}")));
                }
                // No ACL: the group bits are the group's own.
                Err(Errno::NODATA | Errno::OPNOTSUPP) => {}
                Err(Errno::RANGE) => return Err(self.insecure("has an ACL too long to check")),
                Err(errno) => return Err(self.os_error("cannot read the ACL of", errno)),
            }
        }
        Err(self.insecure(&format!(
            "is accessible by group or others (mode {mode:04o}; a KEK file must be 0600 or 0400)"
        )))
    }

    /// Reads the [`KEK_LEN`] bytes straight into the KEK's locked buffer
    /// (one `read` system call into it: no copy anywhere else).
    fn read(&self, fd: &impl AsFd) -> Result<Kek> {
        let mut bytes = zeroed_kek_bytes()?;
        let mut filled = 0;
        while filled < KEK_LEN {
            match rustix::io::read(fd, &mut bytes[filled..]) {
                Ok(0) => return Err(self.refuse(ErrorKind::Corrupt, "shrank while it was read")),
                Ok(n) => filled += n,
                Err(Errno::INTR) => {}
                Err(errno) => return Err(self.os_error("cannot read", errno)),
            }
        }
        Ok(Kek::from_kek_bytes(bytes))
    }

    /// An error of `kind` saying this file `why`.
    fn refuse(&self, kind: ErrorKind, why: &str) -> Error {
        Error::new(
            kind,
            format!("{} '{}' {why}", self.what, self.path.display()),
        )
    }

    /// An [`ErrorKind::InsecurePermissions`] error saying this file `why`.
    fn insecure(&self, why: &str) -> Error {
        self.refuse(ErrorKind::InsecurePermissions, why)
    }

    /// An [`ErrorKind::Io`] error: `action` failed on this file.
    fn os_error(&self, action: &str, errno: Errno) -> Error {
        Error::io(&format!("{action} {}", self.what), self.path, &errno.into())
    }
}

/// A word for a file type, for messages.
fn type_name(file_type: FileType) -> &'static str {
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

/// The owner rule: a KEK file belongs to this user (`euid`) or to root,
/// who can read everything anyway. Returns why a file owned by `uid` fails.
pub(super) fn owner_rule(uid: u32, euid: u32) -> std::result::Result<(), String> {
    if uid == euid || uid == 0 {
        Ok(())
    } else {
        Err(format!(
            "is owned by uid {uid}, not by this user (uid {euid}) or root"
        ))
    }
}

/// The extended attribute holding a file's access ACL on Linux.
const ACL_XATTR: &str = "system.posix_acl_access";

/// Version field of that attribute's format.
const ACL_XATTR_VERSION: u32 = 2;

/// Bytes of the attribute read: its 4-byte header and up to 32 entries of
/// 8 bytes (systemd's credentials have 5).
const ACL_XATTR_MAX: usize = 4 + 8 * 32;

/// ACL entry tags (`e_tag` in the attribute).
const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;

/// The ACL rule for a credential: `acl`, the `system.posix_acl_access`
/// attribute (version 2; entries of little-endian tag u16, permissions u16,
/// id u32), may grant the owner anything and `euid` anything, and no one
/// else anything once the mask is applied. Returns why it fails.
pub(super) fn acl_rule(acl: &[u8], euid: u32) -> std::result::Result<(), String> {
    let malformed = || "has an ACL in an unknown format".to_string();
    let (version, entries) = acl.split_first_chunk::<4>().ok_or_else(malformed)?;
    if u32::from_le_bytes(*version) != ACL_XATTR_VERSION || entries.len() % 8 != 0 {
        return Err(malformed());
    }
    let entries: Vec<(u16, u16, u32)> = entries
        .chunks_exact(8)
        .map(|e| {
            let tag = u16::from_le_bytes([e[0], e[1]]);
            let perm = u16::from_le_bytes([e[2], e[3]]);
            (tag, perm, u32::from_le_bytes([e[4], e[5], e[6], e[7]]))
        })
        .collect();
    // Without a mask entry (a minimal ACL) nothing is masked.
    let mask = entries
        .iter()
        .find(|(tag, _, _)| *tag == ACL_MASK)
        .map_or(0o7, |(_, perm, _)| *perm);
    for &(tag, perm, id) in &entries {
        let granted = perm & mask != 0;
        match tag {
            ACL_USER_OBJ | ACL_MASK => {}
            ACL_USER if !granted || id == euid => {}
            ACL_USER => return Err(format!("has an ACL that gives uid {id} access")),
            ACL_GROUP_OBJ if granted => return Err("has an ACL that gives its group access".into()),
            ACL_GROUP if granted => return Err(format!("has an ACL that gives gid {id} access")),
            ACL_GROUP_OBJ | ACL_GROUP => {}
            ACL_OTHER if perm != 0 => return Err("has an ACL that gives others access".into()),
            ACL_OTHER => {}
            other => return Err(format!("has an ACL entry of unknown type {other:#x}")),
        }
    }
    Ok(())
}
