//! Status codes and the failure value every entry point reports.

use crate::error::{Argument, Error, Status};

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
    /// A length or other argument is out of range, output buffers overlap
    /// inputs, or a write was asked of a read-only key source.
    CODOMYRMEX_ERR_INVALID_ARGUMENT = 2,
    /// The key id breaks the key-id rule: 1 to 128 bytes from
    /// `[A-Za-z0-9._-]`, not starting with `.`.
    CODOMYRMEX_ERR_INVALID_KEY_ID = 3,
    /// Unknown algorithm value or name.
    CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM = 4,
    /// The output buffer is too small; `*out_len` holds the size needed.
    CODOMYRMEX_ERR_BUFFER_TOO_SMALL = 5,
    /// No key with that id (or no such version).
    CODOMYRMEX_ERR_NOT_FOUND = 6,
    /// A key with that id exists and the call must not replace it.
    CODOMYRMEX_ERR_ALREADY_EXISTS = 7,
    /// The MAC does not match.
    CODOMYRMEX_ERR_VERIFY_FAILED = 8,
    /// The operating system refused or failed; the message names the errno
    /// and the path (`codomyrmex_last_os_error` gives the errno).
    CODOMYRMEX_ERR_IO = 9,
    /// The key directory or a key file is not private to this user (in a
    /// mounted source: not trusted), or is a symbolic link where none may be.
    CODOMYRMEX_ERR_INSECURE_PERMISSIONS = 10,
    /// A key file is unusable: empty, over the size limit, not a regular
    /// file, or failing its authentication.
    CODOMYRMEX_ERR_CORRUPT = 11,
    /// A bug inside the library (a caught panic).
    CODOMYRMEX_ERR_INTERNAL = 12,
}

use codomyrmex_status::*;

/// Each C status with the core status it mirrors: the numbers are defined
/// once, in [`Status`], and checked here at compile time.
const STATUSES: [(codomyrmex_status, Status); 13] = [
    (CODOMYRMEX_OK, Status::Ok),
    (CODOMYRMEX_ERR_NULL_POINTER, Status::NullPointer),
    (CODOMYRMEX_ERR_INVALID_ARGUMENT, Status::InvalidArgument),
    (CODOMYRMEX_ERR_INVALID_KEY_ID, Status::InvalidKeyId),
    (
        CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM,
        Status::UnsupportedAlgorithm,
    ),
    (CODOMYRMEX_ERR_BUFFER_TOO_SMALL, Status::BufferTooSmall),
    (CODOMYRMEX_ERR_NOT_FOUND, Status::NotFound),
    (CODOMYRMEX_ERR_ALREADY_EXISTS, Status::AlreadyExists),
    (CODOMYRMEX_ERR_VERIFY_FAILED, Status::VerifyFailed),
    (CODOMYRMEX_ERR_IO, Status::Io),
    (
        CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
        Status::InsecurePermissions,
    ),
    (CODOMYRMEX_ERR_CORRUPT, Status::Corrupt),
    (CODOMYRMEX_ERR_INTERNAL, Status::Internal),
];

const _: () = {
    let mut i = 0;
    while i < STATUSES.len() {
        assert!(STATUSES[i].0 as u32 == STATUSES[i].1.code());
        assert!(STATUSES[i].1.code() as usize == i);
        i += 1;
    }
};

impl From<Status> for codomyrmex_status {
    fn from(status: Status) -> codomyrmex_status {
        STATUSES[status.code() as usize].0
    }
}

/// Why an entry point failed: the status it returns, the message the
/// calling thread can read afterwards, and the errno behind it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: codomyrmex_status,
    pub message: String,
    pub os_error: Option<i32>,
}

impl Failure {
    pub fn new(status: Status, message: impl Into<String>) -> Failure {
        Failure {
            status: status.into(),
            message: message.into(),
            os_error: None,
        }
    }

    /// A required pointer argument `name` was NULL.
    pub fn null(name: &str) -> Failure {
        Failure::new(Status::NullPointer, format!("{name} is NULL"))
    }
}

/// The C parameter that carries each argument the safe API may refuse.
fn parameter_name(argument: Argument) -> Option<&'static str> {
    match argument {
        Argument::Key => Some("key_len"),
        Argument::KeyLength => Some("key_len"),
        Argument::OutputLength => Some("okm_len"),
        Argument::Prk => Some("prk_len"),
        _ => None,
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        let message = match err.argument().and_then(parameter_name) {
            Some(name) => format!("{name}: {}", err.message()),
            None => err.message().to_owned(),
        };
        Failure {
            status: Status::from(err.kind()).into(),
            message,
            os_error: err.os_error(),
        }
    }
}
