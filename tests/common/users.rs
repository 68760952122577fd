//! Running as another user: tests run as root here, and root ignores mode
//! bits, so what permissions must stop is tried as uid 65534 in a child
//! process (this test binary run again).

use super::{fs::set_mode, is_root};
use std::path::Path;

/// The unprivileged user (and group) the children become.
pub const NOBODY: u32 = 65534;

/// In a child process: becomes uid and gid [`NOBODY`] if running as root.
/// Irreversible; call it only in a process that runs one test.
pub fn become_nobody() {
    if is_root() {
        // SAFETY: plain system calls; this process runs only this test.
        unsafe {
            assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
            assert_eq!(libc::setgid(NOBODY), 0);
            assert_eq!(libc::setuid(NOBODY), 0);
        }
    }
}

/// Makes the existing directory `dir` (in the temporary directory `tmp`)
/// usable by a child that becomes [`NOBODY`]: `tmp` searchable by all, `dir`
/// mode 0700 and, when running as root, owned by that user.
pub fn hand_to_nobody(tmp: &Path, dir: &Path) {
    set_mode(dir, 0o700);
    if is_root() {
        set_mode(tmp, 0o755);
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}
