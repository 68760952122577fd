//! The one error type of the safe API, and the permanent status numbers
//! that the C interface and the CLI's exit codes are built on.

use std::fmt;
use std::io;
use std::path::Path;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in categories a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A length or other argument is out of range, or a write was asked of
    /// a read-only key source.
    InvalidArgument,
    /// A key id breaks the key-id rule (see [`crate::validate_key_id`]).
    InvalidKeyId,
    /// An unknown hash algorithm value or name.
    UnsupportedAlgorithm,
    /// No key with that id, or no such version.
    NotFound,
    /// A key with that id exists and the call must not replace it.
    AlreadyExists,
    /// A MAC does not match.
    VerifyFailed,
    /// The operating system (or a remote key store) refused or failed.
    Io,
    /// The key directory, a key file or a file the library relies on is not
    /// private to this user (or, in a mounted source, not trusted), or is a
    /// symbolic link where none may be.
    InsecurePermissions,
    /// Stored key material is unusable: empty, over the size limit, not a
    /// regular file, or failing its authentication.
    Corrupt,
}

/// A status of the C interface: what a call returned. The numbers are
/// permanent (outside code is written against them); a retired number is
/// never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL (C interface only).
    NullPointer = 1,
    /// [`ErrorKind::InvalidArgument`].
    InvalidArgument = 2,
    /// [`ErrorKind::InvalidKeyId`].
    InvalidKeyId = 3,
    /// [`ErrorKind::UnsupportedAlgorithm`].
    UnsupportedAlgorithm = 4,
    /// An output buffer was too small (C interface only).
    BufferTooSmall = 5,
    /// [`ErrorKind::NotFound`].
    NotFound = 6,
    /// [`ErrorKind::AlreadyExists`].
    AlreadyExists = 7,
    /// [`ErrorKind::VerifyFailed`].
    VerifyFailed = 8,
    /// [`ErrorKind::Io`].
    Io = 9,
    /// [`ErrorKind::InsecurePermissions`].
    InsecurePermissions = 10,
    /// [`ErrorKind::Corrupt`].
    Corrupt = 11,
    /// A bug inside the library: a caught panic.
    Internal = 12,
}

impl Status {
    /// Every status, in value order.
    pub const ALL: [Status; 13] = [
        Status::Ok,
        Status::NullPointer,
        Status::InvalidArgument,
        Status::InvalidKeyId,
        Status::UnsupportedAlgorithm,
        Status::BufferTooSmall,
        Status::NotFound,
        Status::AlreadyExists,
        Status::VerifyFailed,
        Status::Io,
        Status::InsecurePermissions,
        Status::Corrupt,
        Status::Internal,
    ];

    /// The permanent number of this status.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The status with number `code`, if any.
    pub fn from_code(code: u32) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == code)
    }

    /// The name without prefix, e.g. `"NOT_FOUND"` (the C constant is
    /// `CODOMYRMEX_ERR_NOT_FOUND`; success is `CODOMYRMEX_OK`).
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NullPointer => "NULL_POINTER",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::InvalidKeyId => "INVALID_KEY_ID",
            Status::UnsupportedAlgorithm => "UNSUPPORTED_ALGORITHM",
            Status::BufferTooSmall => "BUFFER_TOO_SMALL",
            Status::NotFound => "NOT_FOUND",
            Status::AlreadyExists => "ALREADY_EXISTS",
            Status::VerifyFailed => "VERIFY_FAILED",
            Status::Io => "IO",
            Status::InsecurePermissions => "INSECURE_PERMISSIONS",
            Status::Corrupt => "CORRUPT",
            Status::Internal => "INTERNAL",
        }
    }
}

impl From<ErrorKind> for Status {
    fn from(kind: ErrorKind) -> Status {
        match kind {
            ErrorKind::InvalidArgument => Status::InvalidArgument,
            ErrorKind::InvalidKeyId => Status::InvalidKeyId,
            ErrorKind::UnsupportedAlgorithm => Status::UnsupportedAlgorithm,
            ErrorKind::NotFound => Status::NotFound,
            ErrorKind::AlreadyExists => Status::AlreadyExists,
            ErrorKind::VerifyFailed => Status::VerifyFailed,
            ErrorKind::Io => Status::Io,
            ErrorKind::InsecurePermissions => Status::InsecurePermissions,
            ErrorKind::Corrupt => Status::Corrupt,
        }
    }
}

/// Which argument of a call an [`ErrorKind::InvalidArgument`] is about, so
/// that an interface with its own parameter names (the C one) can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Argument {
    /// The key to store.
    Key,
    /// The requested length of a generated key.
    KeyLength,
    /// The length of an HKDF output.
    OutputLength,
    /// The pseudorandom key given to HKDF-Expand.
    Prk,
    /// The location (key directory, `mounted:` path, URL) to open.
    Location,
}

/// An error: its [`ErrorKind`] and a one-line message that says what was
/// wrong (which argument, key id, OS error and path). Messages never contain
/// key material.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    os_error: Option<i32>,
    argument: Option<Argument>,
}

impl Error {
    /// Creates an error of `kind` with `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            os_error: None,
            argument: None,
        }
    }

    /// An [`ErrorKind::InvalidArgument`] about `argument`.
    pub(crate) fn invalid(argument: Argument, message: impl Into<String>) -> Self {
        Error {
            argument: Some(argument),
            ..Error::new(ErrorKind::InvalidArgument, message)
        }
    }

    /// An operating-system failure of `action` on `path`, naming the errno.
    pub(crate) fn io(action: &str, path: &Path, err: &io::Error) -> Self {
        Error::new(
            ErrorKind::Io,
            format!("{action} '{}': {}", path.display(), describe_os_error(err)),
        )
        .with_os_error(err)
    }

    /// Records the errno behind this error (see [`Error::os_error`]).
    pub(crate) fn with_os_error(mut self, err: &io::Error) -> Self {
        self.os_error = err.raw_os_error();
        self
    }

    /// Records the errno behind this error from a system call's result.
    pub(crate) fn with_errno(mut self, errno: rustix::io::Errno) -> Self {
        self.os_error = Some(errno.raw_os_error());
        self
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The operating system's error number behind this error, if there was
    /// one (`EACCES` for a directory that cannot be read, say).
    pub fn os_error(&self) -> Option<i32> {
        self.os_error
    }

    /// The argument an [`ErrorKind::InvalidArgument`] is about, if it is
    /// about one.
    pub fn argument(&self) -> Option<Argument> {
        self.argument
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match err.os_error {
            Some(code) => io::Error::new(io::Error::from_raw_os_error(code).kind(), err),
            None => io::Error::other(err),
        }
    }
}

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

/// [`describe_os_error`] for a system call's error number.
pub(crate) fn describe_errno(errno: rustix::io::Errno) -> String {
    describe_os_error(&io::Error::from(errno))
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
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
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
    fn io_error_names_action_and_path_and_keeps_the_errno() {
        let err = io::Error::from_raw_os_error(libc::EACCES);
        let e = Error::io("cannot open", Path::new("/k/a.key"), &err);
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(e.os_error(), Some(libc::EACCES));
        assert_eq!(
            e.message(),
            "cannot open '/k/a.key': Permission denied (EACCES)"
        );
    }

    #[test]
    fn statuses_round_trip_and_every_kind_has_one() {
        for (value, status) in Status::ALL.into_iter().enumerate() {
            assert_eq!(status.code() as usize, value);
            assert_eq!(Status::from_code(status.code()), Some(status));
        }
        assert_eq!(Status::from_code(13), None);
        assert_eq!(Status::from(ErrorKind::Corrupt).name(), "CORRUPT");
    }
}
