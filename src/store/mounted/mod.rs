//! A mounted source: keys an orchestrator put in a directory, read-only.
//!
//! Kubernetes Secret volumes (`<id>.key -> ..data/<id>.key`, `..data ->
//! ..<timestamp>/`, swapped atomically on update), Docker and Compose
//! secrets, systemd credentials and Vault Agent output. `<id>.key` is the
//! current version; `<id>.key.v<N>` are older ones, and the current
//! version's number is one more than the highest `N`.
//!
//! Each call reads from one snapshot: where `..data` exists, the directory
//! it points to, checked again at the end so that a reader never mixes two
//! updates (the orchestrator removes the old directory after a swap).
//! Symbolic links are followed only while they stay inside the source (see
//! [`super::beneath`]), and every file and directory must be writable only
//! by a trusted owner (see [`trust`]).

mod trust;

use super::backend::{Backend, Change, Commit, KeyView, Token, WriteLock};
use super::beneath::open_beneath;
use super::codec::{Codec, check_key_len};
use super::fs::{
    FileName, Label, OPEN_FLAGS, file_type, for_each_name, io_error, join, read_key_bytes, refuse,
    wrong_type,
};
use super::key_id::is_valid_key_id;
use super::{Location, OpenOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::keyring::Marker;
use crate::seal::MAX_SEALED_LEN;
use crate::secret::SecretBytes;
use rustix::fs::{CWD, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the symbolic link Kubernetes swaps to publish an update.
const DATA_LINK: &[u8] = b"..data";

/// How often a reader starts again when an update lands while it reads.
const SNAPSHOT_ATTEMPTS: usize = 100;

/// A mounted source, opened once.
#[derive(Debug)]
pub(crate) struct MountedBackend {
    root: OwnedFd,
    location: Location,
    trusted: [u32; 3],
    codec: Codec,
}

/// The directory one call reads from.
struct Snapshot {
    dir: Arc<OwnedFd>,
    path: PathBuf,
    /// Device and inode of the directory `..data` led to, if it exists.
    data: Option<(u64, u64)>,
}

impl MountedBackend {
    /// Opens the source directory `path` and checks that it is trusted.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<MountedBackend> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::openat(CWD, path, flags, Mode::empty())
            .map_err(|errno| io_error("cannot open mounted source", path, errno))?;
        let me = rustix::process::geteuid().as_raw();
        let resolved = std::fs::read_link(format!("/proc/self/fd/{}", root.as_raw_fd()))
            .unwrap_or_else(|_| path.to_path_buf());
        let backend = MountedBackend {
            root,
            location: Location::Mounted(resolved),
            trusted: [0, me, options.trusted_uid.unwrap_or(me)],
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
    fn snapshot(&self) -> Result<Snapshot> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let data_path = self.path().join("..data");
        let (dir, path, data) = match open_beneath(&self.root, DATA_LINK, flags) {
            Ok(dir) => {
                let st = rustix::fs::fstat(&dir)
                    .map_err(|errno| io_error("cannot inspect", &data_path, errno))?;
                (dir, data_path, Some((st.st_dev, st.st_ino)))
            }
            Err(Errno::NOENT) => {
                let dir = rustix::fs::openat(&self.root, c".", flags, Mode::empty())
                    .map_err(|errno| io_error("cannot open", self.path(), errno))?;
                (dir, self.path().to_path_buf(), None)
            }
            Err(errno) => return Err(self.link_error(&data_path, errno)),
        };
        self.check_dir(&dir, &path)?;
        Ok(Snapshot {
            dir: Arc::new(dir),
            path,
            data,
        })
    }

    /// Whether `..data` still leads where it led when `snapshot` was taken.
    fn still_current(&self, snapshot: &Snapshot) -> bool {
        let Some(identity) = snapshot.data else {
            return true;
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        open_beneath(&self.root, DATA_LINK, flags)
            .and_then(rustix::fs::fstat)
            .is_ok_and(|st| (st.st_dev, st.st_ino) == identity)
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
        let file = match open_beneath(dir, name.to_bytes(), OFlags::RDONLY | OPEN_FLAGS) {
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

    /// Whether `name` in the snapshot `dir` leads, inside the source, to a
    /// regular file (exactly what `list` shows).
    fn is_key_file(dir: &OwnedFd, name: &[u8]) -> bool {
        open_beneath(dir, name, OFlags::PATH | OFlags::CLOEXEC)
            .and_then(rustix::fs::fstat)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
    }

    /// The error for a failed open inside the source.
    fn open_error(&self, label: Label<'_>, path: &Path, errno: Errno) -> Error {
        let why = match errno {
            Errno::XDEV => format!(
                "leads outside the mounted source '{}'",
                self.path().display()
            ),
            Errno::LOOP => "is a link loop or a magic link".to_string(),
            Errno::NXIO => return refuse(label, path, ErrorKind::Corrupt, "is not a regular file"),
            _ => return io_error("cannot open", path, errno),
        };
        refuse(label, path, ErrorKind::InsecurePermissions, &why).with_errno(errno)
    }

    /// The error for a `..data` that could not be followed.
    fn link_error(&self, path: &Path, errno: Errno) -> Error {
        match errno {
            Errno::XDEV | Errno::LOOP => Error::new(
                ErrorKind::InsecurePermissions,
                format!(
                    "mounted source: '{}' leads outside the mounted source",
                    path.display()
                ),
            )
            .with_errno(errno),
            _ => io_error("cannot open", path, errno),
        }
    }

    /// The numbers `N` of the files `<id>.key.v<N>` in the snapshot.
    fn version_numbers(&self, snapshot: &Snapshot, id: &str) -> Result<Vec<u32>> {
        let prefix = format!("{id}.key.v");
        let mut numbers = Vec::new();
        for_each_name(&snapshot.dir, &snapshot.path, |name| {
            numbers.extend(name.strip_prefix(prefix.as_bytes()).and_then(parse_number));
        })?;
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// One attempt at [`Backend::load`]; `None` from the outer option when
    /// an update landed meanwhile.
    fn try_load(&self, id: &str) -> Result<Option<Option<KeyView>>> {
        let snapshot = self.snapshot()?;
        let read = self.version_numbers(&snapshot, id).and_then(|retained| {
            let current = retained.last().map_or(1, |highest| highest + 1);
            let name = FileName::new("", id, ".key");
            let bytes = self.read(
                &snapshot.dir,
                &snapshot.path,
                (id, current),
                &name,
                Label::Key(id),
            )?;
            Ok(bytes.map(|bytes| KeyView {
                current,
                bytes,
                retained,
                staged: Vec::new(),
                token: Token::default(),
                snapshot: Some(Arc::clone(&snapshot.dir)),
            }))
        });
        // Whatever was read, it belongs to one update only if `..data`
        // still leads there: the old directory is emptied after a swap.
        if !self.still_current(&snapshot) {
            return Ok(None);
        }
        read.map(Some)
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
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let snapshot = self.snapshot()?;
            let mut ids = Vec::new();
            let listed = for_each_name(&snapshot.dir, &snapshot.path, |name| {
                let Some(id) = name.strip_suffix(b".key").filter(|id| is_valid_key_id(id)) else {
                    return;
                };
                if Self::is_key_file(&snapshot.dir, name) {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
            });
            // An update removes the directory it replaced: list again.
            if self.still_current(&snapshot) {
                return listed.map(|()| ids);
            }
        }
        Err(updating_too_often(self.path()))
    }

    fn exists(&self, id: &str) -> Result<bool> {
        let name = FileName::new("", id, ".key");
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let snapshot = self.snapshot()?;
            let found = Self::is_key_file(&snapshot.dir, name.to_bytes());
            if self.still_current(&snapshot) {
                return Ok(found);
            }
        }
        Err(updating_too_often(self.path()))
    }

    fn load(&self, id: &str) -> Result<Option<KeyView>> {
        for _ in 0..SNAPSHOT_ATTEMPTS {
            if let Some(view) = self.try_load(id)? {
                return Ok(view);
            }
        }
        Err(updating_too_often(self.path()))
    }

    fn read_version(&self, id: &str, view: &KeyView, version: u32) -> Result<Option<SecretBytes>> {
        let snapshot = match &view.snapshot {
            Some(dir) => Snapshot {
                dir: Arc::clone(dir),
                path: std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd()))
                    .unwrap_or_else(|_| self.path().to_path_buf()),
                data: None,
            },
            None => self.snapshot()?,
        };
        let name = FileName::new("", id, &format!(".key.v{version}"));
        // A directory emptied by an update reads as absent: the caller
        // looks at the source again.
        self.read(
            &snapshot.dir,
            &snapshot.path,
            (id, version),
            &name,
            Label::Version(id, version),
        )
    }

    fn marker(&self, id: &str) -> Result<Marker> {
        let data = rustix::fs::readlinkat(&self.root, DATA_LINK, Vec::new())
            .map_or(0, |target| fold(target.as_bytes()));
        let name = FileName::new("", id, ".key");
        let key = rustix::fs::statat(&self.root, &*name, rustix::fs::AtFlags::empty()).map_err(
            |errno| match errno {
                Errno::NOENT => Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' not found in '{}'", self.location),
                ),
                errno => io_error("cannot inspect", &join(self.path(), &name), errno),
            },
        )?;
        let listing =
            rustix::fs::fstat(&self.root).map_or(0, |st| nanos(st.st_mtime, st.st_mtime_nsec));
        Ok(Marker([
            data,
            key.st_ino ^ key.st_dev,
            nanos(key.st_mtime, key.st_mtime_nsec),
            listing,
        ]))
    }

    fn lock(&self, _id: &str) -> Result<Box<dyn WriteLock + '_>> {
        Err(read_only_error(&self.location))
    }

    fn commit(&self, _id: &str, _base: Option<&KeyView>, _change: Change<'_>) -> Result<Commit> {
        Err(read_only_error(&self.location))
    }
}

fn nanos(seconds: i64, nanos: u64) -> u64 {
    u64::try_from(seconds)
        .unwrap_or(0)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nanos)
}

/// FNV-1a of `bytes`, for a marker.
fn fold(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn updating_too_often(path: &Path) -> Error {
    Error::new(
        ErrorKind::Io,
        format!(
            "the mounted source '{}' was updated {SNAPSHOT_ATTEMPTS} times while it was read; try again",
            path.display()
        ),
    )
}
