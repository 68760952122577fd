//! A mounted source: keys an orchestrator put in a directory, read-only.
//!
//! Kubernetes Secret volumes (`<id>.key -> ..data/<id>.key`, `..data ->
//! ..<timestamp>/`, swapped atomically on update), Docker and Compose
//! secrets, systemd credentials and Vault Agent output. `<id>.key` is the
//! current version; `<id>.key.v<N>` are older ones, and the current
//! version's number is one more than the highest `N`.
//!
//! Each call reads from one snapshot: where `..data` exists, the directory
//! it points to at the start of the call, so that a reader never mixes two
//! updates. Symbolic links are followed only while they stay inside the
//! source (`openat2` with `RESOLVE_BENEATH`, no magic links, no other
//! mount), and every file and directory must be writable only by a trusted
//! owner: root, this user, or the uid named in the options.

use super::backend::{Backend, Change, Commit, KeyView, Token, WriteLock};
use super::codec::{Codec, check_key_len};
use super::fs::{
    FileName, Label, OPEN_FLAGS, file_type, for_each_name, io_error, join, permissions,
    read_key_bytes, refuse, wrong_type,
};
use super::key_id::is_valid_key_id;
use super::{Location, OpenOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::seal::MAX_SEALED_LEN;
use crate::secret::SecretBytes;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the symbolic link Kubernetes swaps to publish an update.
const DATA_LINK: &std::ffi::CStr = c"..data";

/// How symbolic links may be followed inside the source.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// Permission bits that let someone other than the owner write.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The sticky bit of a shared directory such as a 1777 tmpfs mount point.
const STICKY: u32 = 0o1000;

/// A mounted source, opened once.
#[derive(Debug)]
pub(crate) struct MountedBackend {
    root: OwnedFd,
    location: Location,
    trusted: [u32; 3],
    codec: Codec,
}

impl MountedBackend {
    /// Opens the source directory `path` and checks that it is trusted.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<MountedBackend> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::openat(CWD, path, flags, Mode::empty())
            .map_err(|errno| io_error("cannot open mounted source", path, errno))?;
        let me = rustix::process::geteuid().as_raw();
        let trusted = [0, me, options.trusted_uid.unwrap_or(me)];
        let resolved = std::fs::read_link(format!("/proc/self/fd/{}", root.as_raw_fd()))
            .unwrap_or_else(|_| path.to_path_buf());
        let backend = MountedBackend {
            root,
            location: Location::Mounted(resolved),
            trusted,
            codec: Codec::new(options)?,
        };
        backend.check_dir(&backend.root, backend.path())?;
        Ok(backend)
    }

    fn path(&self) -> &Path {
        self.location.path()
    }

    /// The directory this call reads from: what `..data` points to now,
    /// else the source itself.
    fn snapshot(&self) -> Result<(Arc<OwnedFd>, PathBuf)> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let (dir, path) =
            match rustix::fs::openat2(&self.root, DATA_LINK, flags, Mode::empty(), RESOLVE) {
                Ok(dir) => (dir, join(self.path(), DATA_LINK)),
                Err(Errno::NOENT) => {
                    let dir = rustix::fs::openat(&self.root, c".", flags, Mode::empty())
                        .map_err(|errno| io_error("cannot open", self.path(), errno))?;
                    (dir, self.path().to_path_buf())
                }
                Err(errno) => {
                    return Err(self.open_error(
                        Label::Key("..data"),
                        &join(self.path(), DATA_LINK),
                        errno,
                    ));
                }
            };
        self.check_dir(&dir, &path)?;
        Ok((Arc::new(dir), path))
    }

    /// Reads `name`, version `version` of `id`, from the snapshot `dir`,
    /// with every check; `None` if it is absent.
    fn read(
        &self,
        dir: &OwnedFd,
        dir_path: &Path,
        (id, version): (&str, u32),
        name: &FileName,
        label: Label<'_>,
    ) -> Result<Option<SecretBytes>> {
        let path = join(dir_path, name);
        let flags = OFlags::RDONLY | OPEN_FLAGS;
        let file = match rustix::fs::openat2(dir, &**name, flags, Mode::empty(), RESOLVE) {
            Ok(file) => file,
            Err(Errno::NOENT) => return Ok(None),
            Err(errno) => return Err(self.open_error(label, &path, errno)),
        };
        let st =
            rustix::fs::fstat(&file).map_err(|errno| io_error("cannot inspect", &path, errno))?;
        if file_type(&st) != FileType::RegularFile {
            return Err(wrong_type(label, &path, file_type(&st)));
        }
        self.check_owner(&st, label, &path)?;
        self.check_containing_dir(dir, &file, &path)?;
        let raw = read_key_bytes(&file, &st, MAX_SEALED_LEN, label, &path)?;
        let what = format!("{label}: '{}'", path.display());
        let bytes = self.codec.decode(id, Some(version), raw, &what)?.bytes;
        check_key_len(&what, &bytes)?;
        Ok(Some(bytes))
    }

    /// The error for a failed open inside the source.
    fn open_error(&self, label: Label<'_>, path: &Path, errno: Errno) -> Error {
        match errno {
            Errno::XDEV | Errno::LOOP => refuse(
                label,
                path,
                ErrorKind::InsecurePermissions,
                &format!(
                    "leads outside the mounted source '{}'",
                    self.path().display()
                ),
            ),
            Errno::NXIO => refuse(label, path, ErrorKind::Corrupt, "is not a regular file"),
            _ => io_error("cannot open", path, errno).with_errno(errno),
        }
    }

    fn trusts(&self, uid: u32) -> bool {
        self.trusted.contains(&uid)
    }

    /// Refuses a file that someone untrusted could write.
    fn check_owner(&self, st: &Stat, label: Label<'_>, path: &Path) -> Result<()> {
        let why = if !self.trusts(st.st_uid) {
            format!(
                "is owned by uid {}, which this source does not trust",
                st.st_uid
            )
        } else if permissions(st) & GROUP_OTHER_WRITE != 0 {
            format!(
                "is writable by group or others (mode {:04o})",
                permissions(st)
            )
        } else {
            return Ok(());
        };
        Err(refuse(
            label,
            path,
            ErrorKind::InsecurePermissions,
            &format!("{why}; {}", self.trust_rule()),
        ))
    }

    /// Refuses a directory that someone untrusted could change: owned by an
    /// untrusted user, or writable by group or others without the sticky
    /// bit.
    fn check_dir(&self, dir: &OwnedFd, path: &Path) -> Result<()> {
        let st = rustix::fs::fstat(dir).map_err(|errno| io_error("cannot inspect", path, errno))?;
        let mode = permissions(&st);
        let why = if !self.trusts(st.st_uid) {
            format!(
                "is owned by uid {}, which this source does not trust",
                st.st_uid
            )
        } else if mode & GROUP_OTHER_WRITE != 0 && mode & STICKY == 0 {
            format!("is writable by group or others without the sticky bit (mode {mode:04o})")
        } else {
            return Ok(());
        };
        Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "mounted source directory '{}' {why}; {}",
                path.display(),
                self.trust_rule()
            ),
        ))
    }

    /// Checks the directory that holds `file` when a link led it out of
    /// the snapshot directory `dir`.
    fn check_containing_dir(&self, dir: &OwnedFd, file: &OwnedFd, path: &Path) -> Result<()> {
        let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) else {
            return Ok(());
        };
        let Some(parent) = real.parent() else {
            return Ok(());
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let holder = rustix::fs::openat(CWD, parent, flags, Mode::empty())
            .map_err(|errno| io_error("cannot open the directory of", path, errno))?;
        let (a, b) = (rustix::fs::fstat(dir), rustix::fs::fstat(&holder));
        match (a, b) {
            (Ok(a), Ok(b)) if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) => Ok(()),
            _ => self.check_dir(&holder, parent),
        }
    }

    fn trust_rule(&self) -> String {
        let extra = match self.trusted[2] {
            uid if uid == self.trusted[1] => String::new(),
            uid => format!(", uid {uid} (trusted by the open options)"),
        };
        format!(
            "only root, this user (uid {}){extra} may be able to write a mounted source",
            self.trusted[1]
        )
    }

    /// The numbers `N` of the files `<id>.key.v<N>` in the snapshot.
    fn version_numbers(&self, dir: &OwnedFd, dir_path: &Path, id: &str) -> Result<Vec<u32>> {
        let prefix = format!("{id}.key.v");
        let mut numbers = Vec::new();
        for_each_name(dir, dir_path, |name| {
            let number = name.strip_prefix(prefix.as_bytes()).and_then(parse_number);
            numbers.extend(number);
        })?;
        numbers.sort_unstable();
        Ok(numbers)
    }
}

/// A version number in a file name: digits without a leading zero, 1 to
/// `u32::MAX - 1` (the current version is one more).
fn parse_number(text: &[u8]) -> Option<u32> {
    if text.first() == Some(&b'0') || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text)
        .ok()?
        .parse()
        .ok()
        .filter(|&n| n > 0 && n < u32::MAX)
}

fn read_only_error(location: &Location) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("'{location}' is a read-only key source"),
    )
}

impl Backend for MountedBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn read_only(&self) -> bool {
        true
    }

    fn list(&self) -> Result<Vec<String>> {
        let (dir, path) = self.snapshot()?;
        let mut ids = Vec::new();
        for_each_name(&dir, &path, |name| {
            let Some(id) = name.strip_suffix(b".key").filter(|id| is_valid_key_id(id)) else {
                return;
            };
            if let Ok(st) = rustix::fs::statat(&*dir, name, AtFlags::empty())
                && file_type(&st) == FileType::RegularFile
            {
                ids.push(String::from_utf8_lossy(id).into_owned());
            }
        })?;
        Ok(ids)
    }

    fn exists(&self, id: &str) -> Result<bool> {
        Ok(self.load(id)?.is_some())
    }

    fn load(&self, id: &str) -> Result<Option<KeyView>> {
        let (dir, path) = self.snapshot()?;
        let retained = self.version_numbers(&dir, &path, id)?;
        let current = retained.last().map_or(1, |highest| highest + 1);
        let name = FileName::new("", id, ".key");
        let Some(bytes) = self.read(&dir, &path, (id, current), &name, Label::Key(id))? else {
            return Ok(None);
        };
        Ok(Some(KeyView {
            current,
            bytes,
            retained,
            staged: Vec::new(),
            token: Token::default(),
            snapshot: Some(dir),
        }))
    }

    fn read_version(&self, id: &str, view: &KeyView, version: u32) -> Result<Option<SecretBytes>> {
        let (dir, path) = match &view.snapshot {
            Some(dir) => (Arc::clone(dir), self.path().to_path_buf()),
            None => self.snapshot()?,
        };
        let name = FileName::new("", id, &format!(".key.v{version}"));
        self.read(
            &dir,
            &path,
            (id, version),
            &name,
            Label::Version(id, version),
        )
    }

    fn lock(&self, _id: &str) -> Result<Box<dyn WriteLock + '_>> {
        Err(read_only_error(&self.location))
    }

    fn commit(&self, _id: &str, _base: Option<&KeyView>, _change: Change<'_>) -> Result<Commit> {
        Err(read_only_error(&self.location))
    }
}
