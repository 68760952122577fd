//! The one error type of the safe API.

use std::fmt;
use std::io;
use std::path::Path;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in categories a caller can act on.
///
/// Each kind corresponds to one status of the C interface (see
/// `codomyrmex_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A length or other argument is out of range.
    InvalidArgument,
    /// A key id breaks the key-id rule (see [`crate::validate_key_id`]).
    InvalidKeyId,
    /// An unknown hash algorithm value or name.
    UnsupportedAlgorithm,
    /// An output would not fit the space the caller offered; `needed` is the
    /// size that would.
    BufferTooSmall {
        /// Bytes (or items) needed.
        needed: usize,
    },
    /// No key with that id (or no such version).
    NotFound,
    /// A key with that id exists and the call must not replace it.
    AlreadyExists,
    /// A MAC does not match.
    VerifyFailed,
    /// The operating system refused or failed.
    Io,
    /// The key directory or a key file is not private to this user, or is a
    /// symbolic link.
    InsecurePermissions,
    /// A key file on disk is unusable: empty, over the size limit, or not a
    /// regular file.
    Corrupt,
}

/// An error: its [`ErrorKind`] and a one-line message that says what was
/// wrong (which argument, key id, OS error and path). Messages never contain
/// key material.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Creates an error of `kind` with `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// An operating-system failure of `action` on `path`, naming the errno.
    pub(crate) fn io(action: &str, path: &Path, err: &io::Error) -> Self {
        Error::new(
            ErrorKind::Io,
            format!("{action} '{}': {}", path.display(), describe_os_error(err)),
        )
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Describes an OS error as "<text> (<ERRNO NAME>)", e.g.
/// "No space left on device (ENOSPC)".
pub(crate) fn describe_os_error(err: &io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return err.to_string();
    };
    let text = err.to_string();
    // std renders "<text> (os error N)"; keep the text, name the errno.
    let text = text
        .strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&text);
    match errno_name(code) {
        Some(name) => format!("{text} ({name})"),
        None => format!("{text} (errno {code})"),
    }
}

fn errno_name(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOLCK => "ENOLCK",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EDQUOT => "EDQUOT",
        libc::ENXIO => "ENXIO",
        libc::ETXTBSY => "ETXTBSY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_are_named() {
        let err = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(describe_os_error(&err), "No space left on device (ENOSPC)");
    }

    #[test]
    fn io_error_names_action_and_path() {
        let err = io::Error::from_raw_os_error(libc::EACCES);
        let e = Error::io("cannot open", Path::new("/k/a.key"), &err);
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(
            e.message(),
            "cannot open '/k/a.key': Permission denied (EACCES)"
        );
    }
}
