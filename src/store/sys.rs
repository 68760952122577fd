//! Thin safe wrappers over the system calls the key store needs, all
//! relative to a directory descriptor opened once. Nothing here knows about
//! keys; every function returns the raw `io::Error`.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// Flags for every open of an existing entry: never follow a symbolic link,
/// never leak into a child process, never block on a FIFO, never become a
/// controlling terminal.
const OPEN_FLAGS: libc::c_int =
    libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;

/// Bytes of directory entries one `getdents64` call may return: 64 KiB,
/// about 1,500 keys per call, and below the size at which the allocator
/// maps fresh pages for every listing.
pub(crate) const LISTING_BUF_BYTES: usize = 64 * 1024;

/// What `fstat` says about an open file or a directory entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub mode: u32,
    pub uid: u32,
    pub nlink: u64,
    pub size: u64,
    /// Device and inode: which file this is.
    pub identity: (u64, u64),
}

impl Stat {
    fn from_raw(st: &libc::stat) -> Stat {
        Stat {
            mode: st.st_mode,
            uid: st.st_uid,
            nlink: st.st_nlink,
            size: u64::try_from(st.st_size).unwrap_or(0),
            identity: (st.st_dev, st.st_ino),
        }
    }

    /// The file type bits (`S_IFREG`, `S_IFDIR`, …).
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    /// The permission bits.
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// A word for the file type in `mode`, for messages.
pub(crate) fn file_type_name(file_type: u32) -> &'static str {
    match file_type {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFLNK => "a symbolic link",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        _ => "of an unknown type",
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Runs `call` again while it fails with `EINTR`.
fn retry<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The effective user id of this process.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The status of the open descriptor `fd`.
pub(crate) fn fstat(fd: &impl AsRawFd) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is a writable stat buffer; fstat fills it on success.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so `st` is initialised.
    Ok(Stat::from_raw(&unsafe { st.assume_init() }))
}

/// A directory opened once and used for every later call, so that renaming
/// or replacing its path afterwards cannot redirect them.
#[derive(Debug)]
pub(crate) struct Dir(OwnedFd);

impl Dir {
    /// Opens the directory at `path` (relative to the working directory or
    /// absolute); fails with `ELOOP` or `ENOTDIR` if the last component is a
    /// symbolic link.
    pub fn open(path: &CStr) -> io::Result<Dir> {
        Dir::open_relative(libc::AT_FDCWD, path)
    }

    /// Opens the subdirectory `name` of this directory, refusing a symbolic
    /// link.
    pub fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        Dir::open_relative(self.0.as_raw_fd(), name)
    }

    fn open_relative(base: RawFd, path: &CStr) -> io::Result<Dir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: `path` is NUL-terminated; the result is checked.
        let fd = retry(|| check(unsafe { libc::openat(base, path.as_ptr(), flags) }))?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(Dir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The status of the directory itself.
    pub fn stat(&self) -> io::Result<Stat> {
        fstat(&self.0)
    }

    /// Flushes the directory's entries (renames, creations, removals) to disk.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: plain system call on an owned descriptor.
        retry(|| check(unsafe { libc::fsync(self.0.as_raw_fd()) })).map(drop)
    }

    /// Opens the existing entry `name` for reading, without following a
    /// symbolic link (`ELOOP`) and without blocking on a FIFO.
    pub fn open_read(&self, name: &CStr) -> io::Result<File> {
        self.open_file(name, libc::O_RDONLY | OPEN_FLAGS, 0)
    }

    /// Creates `name`, which must not exist, for writing with permission
    /// bits `mode` (narrowed by the umask; callers set them exactly with
    /// `File::set_permissions`).
    pub fn create_new(&self, name: &CStr, mode: u32) -> io::Result<File> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | OPEN_FLAGS;
        self.open_file(name, flags, mode)
    }

    /// Opens `name` for reading and writing; if it is absent, creates it
    /// with exactly `mode` (see [`Dir::create_exact`]).
    pub fn open_or_create(&self, name: &CStr, mode: u32) -> io::Result<File> {
        loop {
            match self.open_file(name, libc::O_RDWR | OPEN_FLAGS, 0) {
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                opened => return opened,
            }
            match self.create_exact(name, Entry::File, mode) {
                // Created here or by someone else in between: open it.
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists => return Err(err),
                _ => {}
            }
        }
    }

    /// Creates `name` (an empty file or a directory) with exactly `mode`,
    /// whatever the umask, and atomically: it is made under a temporary name,
    /// given its mode, then renamed into place, so no instant — and no kill —
    /// leaves `name` with the umask's mode. `EEXIST` if `name` exists.
    pub fn create_exact(&self, name: &CStr, entry: Entry, mode: u32) -> io::Result<()> {
        static TEMPS: AtomicU64 = AtomicU64::new(0);
        let temp = CString::new(format!(
            "{}.{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            TEMPS.fetch_add(1, Ordering::Relaxed)
        ))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        match entry {
            Entry::File => {
                let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | OPEN_FLAGS;
                drop(self.open_file(&temp, flags, mode)?);
            }
            // SAFETY: `temp` is NUL-terminated.
            Entry::Directory => {
                check(unsafe { libc::mkdirat(self.0.as_raw_fd(), temp.as_ptr(), mode) })
                    .map(drop)?
            }
        }
        let placed = self
            .chmod_at(&temp, mode)
            .and_then(|()| self.rename_noreplace(&temp, name));
        if placed.is_err() {
            // Best effort: the failure being reported matters more.
            // SAFETY: `temp` is NUL-terminated.
            let flags = if matches!(entry, Entry::Directory) {
                libc::AT_REMOVEDIR
            } else {
                0
            };
            unsafe { libc::unlinkat(self.0.as_raw_fd(), temp.as_ptr(), flags) };
        }
        placed
    }

    fn open_file(&self, name: &CStr, flags: libc::c_int, mode: u32) -> io::Result<File> {
        // SAFETY: `name` is NUL-terminated; the result is checked.
        let fd = retry(|| {
            check(unsafe { libc::openat(self.0.as_raw_fd(), name.as_ptr(), flags, mode) })
        })?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// The status of the entry `name` itself (a symbolic link is not
    /// followed).
    pub fn stat_at(&self, name: &CStr) -> io::Result<Stat> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is NUL-terminated and `st` is a writable buffer.
        check(unsafe {
            libc::fstatat(
                self.0.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        // SAFETY: fstatat succeeded, so `st` is initialised.
        Ok(Stat::from_raw(&unsafe { st.assume_init() }))
    }

    /// Sets the permission bits of the entry `name` (which must not be a
    /// symbolic link the caller does not control: only use it on an entry
    /// this process just created).
    pub fn chmod_at(&self, name: &CStr, mode: u32) -> io::Result<()> {
        // SAFETY: `name` is NUL-terminated.
        check(unsafe { libc::fchmodat(self.0.as_raw_fd(), name.as_ptr(), mode, 0) }).map(drop)
    }

    /// Removes the empty subdirectory `name`.
    pub fn rmdir(&self, name: &CStr) -> io::Result<()> {
        // SAFETY: `name` is NUL-terminated.
        check(unsafe { libc::unlinkat(self.0.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) })
            .map(drop)
    }

    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    pub fn rename(&self, from: &CStr, to: &CStr) -> io::Result<()> {
        let fd = self.0.as_raw_fd();
        // SAFETY: both names are NUL-terminated.
        check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) }).map(drop)
    }

    /// Atomically renames `from` to `to` only if `to` does not exist
    /// (`EEXIST` otherwise), even against a concurrent creator. Uses
    /// `renameat2(RENAME_NOREPLACE)`; where the file system lacks it, a hard
    /// link followed by removing `from`, which is just as exclusive.
    pub fn rename_noreplace(&self, from: &CStr, to: &CStr) -> io::Result<()> {
        let fd = self.0.as_raw_fd();
        // SAFETY: both names are NUL-terminated; renameat2 takes
        // (int, const char *, int, const char *, unsigned int).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                fd,
                from.as_ptr(),
                fd,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if ret == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {
                // SAFETY: both names are NUL-terminated.
                check(unsafe { libc::linkat(fd, from.as_ptr(), fd, to.as_ptr(), 0) })?;
                self.unlink(from)
            }
            _ => Err(err),
        }
    }

    /// Removes the non-directory entry `name`.
    pub fn unlink(&self, name: &CStr) -> io::Result<()> {
        // SAFETY: `name` is NUL-terminated.
        check(unsafe { libc::unlinkat(self.0.as_raw_fd(), name.as_ptr(), 0) }).map(drop)
    }

    /// Calls `visit(name, d_type)` for every entry of the directory (`.` and
    /// `..` included), reading it with few large `getdents64` calls.
    pub fn for_each_entry(&self, mut visit: impl FnMut(&[u8], u8)) -> io::Result<()> {
        // A fresh descriptor: its own read position, so concurrent listings
        // of one directory cannot disturb each other.
        let listing = self.open_dir(c".")?;
        // u64 elements keep the records 8-byte aligned, as the kernel writes
        // them. Left uninitialised: only what the kernel wrote is read.
        let mut buf: Vec<std::mem::MaybeUninit<u64>> = Vec::with_capacity(LISTING_BUF_BYTES / 8);
        // SAFETY: MaybeUninit needs no initialisation.
        unsafe { buf.set_len(LISTING_BUF_BYTES / 8) };
        loop {
            let buf_bytes = buf.len() * 8;
            // SAFETY: `buf` is a writable region of `buf_bytes` bytes.
            let n = retry(|| {
                let ret = unsafe {
                    libc::syscall(
                        libc::SYS_getdents64,
                        listing.0.as_raw_fd(),
                        buf.as_mut_ptr(),
                        buf_bytes,
                    )
                };
                if ret < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(ret.unsigned_abs() as usize)
                }
            })?;
            if n == 0 {
                return Ok(());
            }
            // SAFETY: the kernel initialised the first `n` bytes of `buf`.
            let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
            parse_dirents(bytes, &mut visit);
        }
    }

    /// Locks byte `slot` of the lock file `name` (created with `file_mode` if
    /// absent) exclusively, and holds the lock until the returned file is
    /// dropped.
    ///
    /// Open-file-description locks (`F_OFD_SETLKW`) exclude other threads as
    /// well as other processes, because every call opens its own
    /// description; different slots do not exclude each other. Where the
    /// kernel or file system lacks them, the whole file is locked with
    /// `flock`.
    pub fn lock(&self, name: &CStr, file_mode: u32, slot: u32) -> io::Result<File> {
        let file = self.open_or_create(name, file_mode)?;
        // SAFETY: an all-zero `flock` is a valid value; fields are set below.
        let mut range: libc::flock = unsafe { std::mem::zeroed() };
        range.l_type = libc::F_WRLCK as libc::c_short;
        range.l_whence = libc::SEEK_SET as libc::c_short;
        range.l_start = libc::off_t::from(slot);
        range.l_len = 1;
        // SAFETY: `range` is a valid flock structure for this descriptor.
        let ofd =
            retry(|| check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLKW, &range) }));
        match ofd {
            Ok(_) => Ok(file),
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
                // SAFETY: plain system call on an owned descriptor.
                retry(|| check(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }))?;
                Ok(file)
            }
            Err(err) => Err(err),
        }
    }
}

/// A kind of directory entry to create.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    File,
    Directory,
}

/// Splits a `getdents64` buffer into `(name, d_type)` records.
fn parse_dirents(mut bytes: &[u8], visit: &mut impl FnMut(&[u8], u8)) {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    const NAME_AT: usize = 19;
    while bytes.len() > NAME_AT {
        let reclen = usize::from(u16::from_ne_bytes([bytes[16], bytes[17]]));
        if reclen <= NAME_AT || reclen > bytes.len() {
            return;
        }
        let d_type = bytes[18];
        let name = &bytes[NAME_AT..reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        visit(name, d_type);
        bytes = &bytes[reclen..];
    }
}
