//! Status codes and the failure value every entry point reports.

use crate::error::{Error, ErrorKind};

/// The result of every `codomyrmex_*` function that can fail.
///
/// `CODOMYRMEX_OK` (0) is success. Any other value is an error: it leaves
/// every out-parameter and every file on disk unchanged, except `*out_len`
/// on `CODOMYRMEX_ERR_BUFFER_TOO_SMALL`, and sets the calling thread's last
/// error message (see `codomyrmex_last_error_message`). The numbers are
/// permanent; a retired number is never reused.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum codomyrmex_status {
    /// Success.
    CODOMYRMEX_OK = 0,
    /// A required pointer was NULL.
    CODOMYRMEX_ERR_NULL_POINTER = 1,
    /// A length or other argument is out of range.
    CODOMYRMEX_ERR_INVALID_ARGUMENT = 2,
    /// The key id breaks the key-id rule: 1 to 128 bytes from
    /// `[A-Za-z0-9._-]`, not starting with `.`.
    CODOMYRMEX_ERR_INVALID_KEY_ID = 3,
    /// Unknown algorithm value or name.
    CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM = 4,
    /// The output buffer is too small; `*out_len` holds the size needed.
    CODOMYRMEX_ERR_BUFFER_TOO_SMALL = 5,
    /// No key with that id.
    CODOMYRMEX_ERR_NOT_FOUND = 6,
    /// A key with that id exists and the call must not replace it.
    CODOMYRMEX_ERR_ALREADY_EXISTS = 7,
    /// The MAC does not match.
    CODOMYRMEX_ERR_VERIFY_FAILED = 8,
    /// The operating system refused or failed; the message names the errno
    /// and the path.
    CODOMYRMEX_ERR_IO = 9,
    /// The key directory or a key file is not private to this user, or is a
    /// symbolic link.
    CODOMYRMEX_ERR_INSECURE_PERMISSIONS = 10,
    /// A key file on disk is unusable: empty, over the size limit, or not a
    /// regular file.
    CODOMYRMEX_ERR_CORRUPT = 11,
    /// A bug inside the library (a caught panic).
    CODOMYRMEX_ERR_INTERNAL = 12,
}

use codomyrmex_status::*;

impl codomyrmex_status {
    /// Every status, in value order.
    pub(crate) const ALL: [codomyrmex_status; 13] = [
        CODOMYRMEX_OK,
        CODOMYRMEX_ERR_NULL_POINTER,
        CODOMYRMEX_ERR_INVALID_ARGUMENT,
        CODOMYRMEX_ERR_INVALID_KEY_ID,
        CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM,
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
        CODOMYRMEX_ERR_NOT_FOUND,
        CODOMYRMEX_ERR_ALREADY_EXISTS,
        CODOMYRMEX_ERR_VERIFY_FAILED,
        CODOMYRMEX_ERR_IO,
        CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
        CODOMYRMEX_ERR_CORRUPT,
        CODOMYRMEX_ERR_INTERNAL,
    ];

    /// The status with C value `value`, if any.
    pub(crate) fn from_value(value: u32) -> Option<codomyrmex_status> {
        Self::ALL.into_iter().find(|status| *status as u32 == value)
    }

    /// The constant's name, e.g. `CODOMYRMEX_ERR_NOT_FOUND`.
    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            CODOMYRMEX_OK => c"CODOMYRMEX_OK",
            CODOMYRMEX_ERR_NULL_POINTER => c"CODOMYRMEX_ERR_NULL_POINTER",
            CODOMYRMEX_ERR_INVALID_ARGUMENT => c"CODOMYRMEX_ERR_INVALID_ARGUMENT",
            CODOMYRMEX_ERR_INVALID_KEY_ID => c"CODOMYRMEX_ERR_INVALID_KEY_ID",
            CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM => c"CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM",
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL => c"CODOMYRMEX_ERR_BUFFER_TOO_SMALL",
            CODOMYRMEX_ERR_NOT_FOUND => c"CODOMYRMEX_ERR_NOT_FOUND",
            CODOMYRMEX_ERR_ALREADY_EXISTS => c"CODOMYRMEX_ERR_ALREADY_EXISTS",
            CODOMYRMEX_ERR_VERIFY_FAILED => c"CODOMYRMEX_ERR_VERIFY_FAILED",
            CODOMYRMEX_ERR_IO => c"CODOMYRMEX_ERR_IO",
            CODOMYRMEX_ERR_INSECURE_PERMISSIONS => c"CODOMYRMEX_ERR_INSECURE_PERMISSIONS",
            CODOMYRMEX_ERR_CORRUPT => c"CODOMYRMEX_ERR_CORRUPT",
            CODOMYRMEX_ERR_INTERNAL => c"CODOMYRMEX_ERR_INTERNAL",
        }
    }
}

/// Why an entry point failed: the status it returns and the message the
/// calling thread can read afterwards.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: codomyrmex_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: codomyrmex_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A required pointer argument `name` was NULL.
    pub fn null(name: &str) -> Failure {
        Failure::new(CODOMYRMEX_ERR_NULL_POINTER, format!("{name} is NULL"))
    }
}

/// The status the C interface reports for each kind of error.
impl From<ErrorKind> for codomyrmex_status {
    fn from(kind: ErrorKind) -> codomyrmex_status {
        match kind {
            ErrorKind::InvalidArgument => CODOMYRMEX_ERR_INVALID_ARGUMENT,
            ErrorKind::InvalidKeyId => CODOMYRMEX_ERR_INVALID_KEY_ID,
            ErrorKind::UnsupportedAlgorithm => CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM,
            ErrorKind::BufferTooSmall { .. } => CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            ErrorKind::NotFound => CODOMYRMEX_ERR_NOT_FOUND,
            ErrorKind::AlreadyExists => CODOMYRMEX_ERR_ALREADY_EXISTS,
            ErrorKind::VerifyFailed => CODOMYRMEX_ERR_VERIFY_FAILED,
            ErrorKind::Io => CODOMYRMEX_ERR_IO,
            ErrorKind::InsecurePermissions => CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
            ErrorKind::Corrupt => CODOMYRMEX_ERR_CORRUPT,
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::new(err.kind().into(), err.message())
    }
}
