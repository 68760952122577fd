//! Writing output: plain answers to standard output, and secrets only to new
//! private files or directories (created with their final mode, written
//! atomically: a temporary name, then a rename that refuses to replace
//! anything) or to a standard output that is not a terminal.

use crate::encoding::to_hex;
use crate::failure::Failure;
use rustix::fs::{CWD, Mode, OFlags, RenameFlags};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// How standard output is named in messages.
const STDOUT_LABEL: &str = "<stdout>";

/// Where secret output goes.
pub enum Destination {
    /// Standard output, which is not a terminal.
    Stdout,
    /// A new file or directory at this path.
    Path(PathBuf),
}

impl Destination {
    /// `--out PATH`: `-` is standard output, refused when it is a terminal;
    /// an existing path is refused before anything is read.
    pub fn new(out: &Path) -> Result<Destination, Failure> {
        if out.as_os_str() == "-" {
            if io::stdout().is_terminal() {
                return Err(Failure::usage(
                    "refusing to write key bytes to a terminal: redirect standard output \
                     to a file or a pipe, or give --out FILE",
                ));
            }
            return Ok(Destination::Stdout);
        }
        refuse_existing(out)?;
        Ok(Destination::Path(out.to_path_buf()))
    }
}

/// Fails with `ALREADY_EXISTS` if anything (a dangling symbolic link
/// included) is at `path`.
pub fn refuse_existing(path: &Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Failure::io("cannot inspect", path, &err)),
        Ok(_) => Err(Failure::io(
            "refusing to overwrite",
            path,
            &io::Error::from(io::ErrorKind::AlreadyExists),
        )),
    }
}

/// The directory holding `path` and the temporary name beside it that a
/// write to `path` goes through.
fn temporary_beside(path: &Path) -> Result<(PathBuf, PathBuf), Failure> {
    let Some(name) = path.file_name() else {
        return Err(Failure::invalid(format!(
            "'{}' does not name a file",
            path.display()
        )));
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(".{}.tmp", std::process::id()));
    Ok((parent.clone(), parent.join(temp)))
}

/// Creates the file `name` in `dir` with exactly `mode` (whatever the
/// umask) from its first instant, and writes and syncs `bytes`.
fn create_file(dir: impl AsFd, name: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(mode))?;
    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    file.sync_all()
}

/// Renames `temp` to `path` unless something is at `path`, and syncs the
/// directory so that the new name survives a crash.
fn commit(temp: &Path, path: &Path, parent: &Path) -> Result<(), Failure> {
    rustix::fs::renameat_with(CWD, temp, CWD, path, RenameFlags::NOREPLACE).map_err(|errno| {
        let action = if errno == rustix::io::Errno::EXIST {
            "refusing to overwrite"
        } else {
            "cannot create"
        };
        Failure::io(action, path, &errno.into())
    })?;
    let dir = rustix::fs::open(parent, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty());
    dir.and_then(rustix::fs::fsync)
        .map_err(|errno| Failure::io("cannot sync", parent, &errno.into()))
}

/// Writes `bytes` to the new file `path`, mode `mode`, atomically: readers
/// see no file or the whole file, and an existing `path` is never replaced.
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Failure> {
    let (parent, temp) = temporary_beside(path)?;
    if let Err(err) = create_file(CWD, &temp, bytes, mode) {
        let _ = std::fs::remove_file(&temp);
        return Err(Failure::io("cannot write", &temp, &err));
    }
    commit(&temp, path, &parent).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Creates the new directory `path` (mode 0700) holding `files`, each of
/// mode `file_mode`, atomically: it appears whole or not at all, and an
/// existing `path` is never replaced.
pub fn write_new_dir(
    path: &Path,
    files: &[(String, &[u8])],
    file_mode: u32,
) -> Result<(), Failure> {
    let (parent, temp) = temporary_beside(path)?;
    rustix::fs::mkdirat(CWD, &temp, Mode::RWXU)
        .map_err(|errno| Failure::io("cannot create", &temp, &errno.into()))?;
    let filled = fill_dir(&temp, files, file_mode);
    let committed = filled.and_then(|()| commit(&temp, path, &parent));
    if committed.is_err() {
        for (name, _) in files {
            let _ = std::fs::remove_file(temp.join(name));
        }
        let _ = std::fs::remove_dir(&temp);
    }
    committed
}

/// Fixes the mode of the new directory `dir` through its descriptor and
/// writes `files` into it.
fn fill_dir(dir: &Path, files: &[(String, &[u8])], file_mode: u32) -> Result<(), Failure> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd: OwnedFd = rustix::fs::open(dir, flags, Mode::empty())
        .and_then(|fd| rustix::fs::fchmod(&fd, Mode::RWXU).map(|()| fd))
        .map_err(|errno| Failure::io("cannot open", dir, &errno.into()))?;
    for (name, bytes) in files {
        create_file(&fd, Path::new(name), bytes, file_mode)
            .map_err(|err| Failure::io("cannot write", &dir.join(name), &err))?;
    }
    rustix::fs::fsync(&fd).map_err(|errno| Failure::io("cannot sync", dir, &errno.into()))
}

/// Writes secret bytes to standard output through a duplicate of its
/// descriptor, so that no copy stays in the standard library's buffer.
pub fn write_stdout_secret(bytes: &[u8]) -> Result<(), Failure> {
    let label = Path::new(STDOUT_LABEL);
    io::stdout()
        .flush()
        .map_err(|err| Failure::io("cannot write", label, &err))?;
    let mut stdout = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|err| Failure::io("cannot write", label, &err))?;
    stdout
        .write_all(bytes)
        .map_err(|err| Failure::io("cannot write", label, &err))
}

/// Writes secret bytes as `--reveal` or `--out` asks: raw to a new file
/// `out` (mode 0600), else hex on standard output.
pub fn emit_secret(secret: &[u8], out: Option<&Path>) -> Result<(), Failure> {
    match out {
        Some(path) => {
            refuse_existing(path)?;
            write_new_file(path, secret, 0o600)
        }
        None => {
            let mut line = to_hex(secret);
            line.push('\n');
            write_stdout_secret(line.as_bytes())
        }
    }
}

/// Writes non-secret output to standard output.
pub fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|err| Failure::io("cannot write", Path::new(STDOUT_LABEL), &err))
}

/// Writes lines of non-secret text to standard output.
pub fn print_lines<S: AsRef<[u8]>>(lines: &[S]) -> Result<(), Failure> {
    let mut text = Vec::new();
    for line in lines {
        text.extend_from_slice(line.as_ref());
        text.push(b'\n');
    }
    print_bytes(&text)
}

/// The bytes of a path, for printing it exactly as the system names it.
pub fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// Tells the operator something on standard error (never key material).
pub fn note(message: &str) {
    let _ = writeln!(io::stderr(), "codomyrmex-keys: {message}");
}
