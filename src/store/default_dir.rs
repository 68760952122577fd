//! The default key directory, chosen as the original Python module chose
//! it, and refused when another user got there first.

use crate::error::{Error, ErrorKind, Result};
use crate::sys::user::user_name;
use rustix::fs::{Access, AtFlags, CWD, FileType};
use std::env;
use std::path::{Path, PathBuf};

/// The environment variable that, when set and non-empty, names the key
/// directory used by default instead of `<tmp>/codomyrmex_keys`.
pub const KEY_DIR_ENV: &str = "CODOMYRMEX_KEY_DIR";

/// Name of the key directory inside the temporary directory by default.
const DEFAULT_DIR_NAME: &str = "codomyrmex_keys";

/// Where temporary directories are looked for after the environment, in
/// order, as Python's `tempfile.gettempdir()` does on POSIX systems.
const SYSTEM_TEMP_DIRS: [&str; 3] = ["/tmp", "/var/tmp", "/usr/tmp"];

/// The default key directory: `$CODOMYRMEX_KEY_DIR` if set and non-empty,
/// else `<tmp>/codomyrmex_keys`, where `<tmp>` is chosen as the original
/// module's `tempfile.gettempdir()` chooses it: the first of `$TMPDIR`,
/// `$TEMP`, `$TMP`, `/tmp`, `/var/tmp`, `/usr/tmp` that is set, non-empty
/// and a directory this user can create files in, else the working
/// directory.
///
/// Temporary directories may be cleaned at reboot: pass a stable directory
/// to [`KeyManager::open`](super::KeyManager::open) for keys that must
/// persist.
pub fn default_key_dir() -> PathBuf {
    if let Some(dir) = env::var_os(KEY_DIR_ENV).filter(|value| !value.is_empty()) {
        return PathBuf::from(dir);
    }
    temp_dir().join(DEFAULT_DIR_NAME)
}

fn temp_dir() -> PathBuf {
    let from_env = ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .filter_map(env::var_os)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    let system = SYSTEM_TEMP_DIRS.iter().map(PathBuf::from);
    from_env
        .chain(system)
        .find(|dir| usable(dir))
        .map(|dir| std::path::absolute(&dir).unwrap_or(dir))
        .unwrap_or_else(|| env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}

/// Whether `dir` is a directory this process may create files in.
fn usable(dir: &Path) -> bool {
    let is_dir = rustix::fs::stat(dir).is_ok_and(|st| FileType::from_raw_mode(st.st_mode).is_dir());
    is_dir
        && rustix::fs::accessat(
            CWD,
            dir,
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::EACCESS,
        )
        .is_ok()
}

/// Refuses the default directory in a shared temporary directory when it
/// exists and belongs to another user: whoever made it could watch or
/// block this user's keys. A directory named by `$CODOMYRMEX_KEY_DIR` was
/// chosen on purpose and gets the ordinary checks only.
pub(super) fn check_not_squatted(dir: &Path) -> Result<()> {
    if env::var_os(KEY_DIR_ENV).is_some_and(|value| !value.is_empty()) {
        return Ok(());
    }
    let Ok(st) = rustix::fs::lstat(dir) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    if st.st_uid == me {
        return Ok(());
    }
    let owner = match user_name(st.st_uid) {
        Some(name) => format!("uid {} ({name})", st.st_uid),
        None => format!("uid {}", st.st_uid),
    };
    Err(Error::new(
        ErrorKind::InsecurePermissions,
        format!(
            "the default key directory '{}' belongs to {owner}, not to this user (uid {me}): \
             pass a key directory of your own or set {KEY_DIR_ENV}",
            dir.display()
        ),
    ))
}
