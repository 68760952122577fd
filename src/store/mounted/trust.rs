//! Who may write a mounted source: root, this user, or one uid the open
//! options name. Files must be writable by trusted owners only; directories
//! too, except that a sticky directory (a 1777 tmpfs mount point) may be
//! writable by anyone.

use super::MountedBackend;
use crate::error::{Error, ErrorKind, Result};
use crate::store::fs::{Label, io_error, permissions, refuse};
use rustix::fs::{CWD, Mode, OFlags, Stat};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// Permission bits that let someone other than the owner write.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// The sticky bit of a shared directory such as a 1777 tmpfs mount point.
const STICKY: u32 = 0o1000;

impl MountedBackend {
    fn trusts(&self, uid: u32) -> bool {
        self.trusted.contains(&uid)
    }

    /// Refuses a file that someone untrusted could write.
    pub(super) fn check_owner(&self, st: &Stat, label: Label<'_>, path: &Path) -> Result<()> {
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
        let why = format!("{why}; {}", self.trust_rule());
        Err(refuse(label, path, ErrorKind::InsecurePermissions, &why))
    }

    /// Refuses a directory that someone untrusted could change: owned by an
    /// untrusted user, or writable by group or others without the sticky
    /// bit.
    pub(super) fn check_dir(&self, dir: &OwnedFd, path: &Path) -> Result<()> {
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

    /// Checks the directory that holds `file` when a link led out of the
    /// snapshot directory `dir`.
    pub(super) fn check_containing_dir(
        &self,
        dir: &OwnedFd,
        file: &OwnedFd,
        path: &Path,
    ) -> Result<()> {
        let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) else {
            return Ok(());
        };
        let Some(parent) = real.parent() else {
            return Ok(());
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let holder = match rustix::fs::openat(CWD, parent, flags, Mode::empty()) {
            Ok(holder) => holder,
            // Removed by an update since the file was opened: the file was
            // read from the snapshot, which the caller checks again.
            Err(rustix::io::Errno::NOENT) => return Ok(()),
            Err(errno) => return Err(io_error("cannot open the directory of", path, errno)),
        };
        match (rustix::fs::fstat(dir), rustix::fs::fstat(&holder)) {
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
}
