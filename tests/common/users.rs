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

/// Drops the capabilities that let root ignore file modes, for this
/// thread: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, from the
/// effective and permitted sets.
pub fn drop_file_capabilities() -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a version-3 header and two data words.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // CAP_DAC_OVERRIDE (1), CAP_DAC_READ_SEARCH (2), CAP_FOWNER (3).
        let drop_bits: u32 = (1 << 1) | (1 << 2) | (1 << 3);
        data[0].effective &= !drop_bits;
        data[0].permitted &= !drop_bits;
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
