//! How a run ends: its answer, or a failure with its exit code.

use codomyrmex_keys::ffi::status::codomyrmex_status as Status;
use codomyrmex_keys::{Error, ErrorKind};
use std::io::{self, Write};
use std::path::Path;

/// A successful run's answer: exit status 0 or 1.
pub enum Answer {
    Yes,
    No,
}

/// What a run produces.
pub type Outcome = Result<Answer, Failure>;

/// Why a run failed: the exit code, a kind name and a one-line message.
///
/// Library errors exit with 10 + the `codomyrmex_status` value of their
/// kind; a failed verification exits with 1; a refused usage with 2.
pub struct Failure {
    pub code: u8,
    pub kind: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            kind,
            message: message.into(),
        }
    }

    pub fn status(status: Status, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure::new(10 + status as u8, kind, message)
    }

    pub fn invalid(message: impl Into<String>) -> Failure {
        let status = Status::CODOMYRMEX_ERR_INVALID_ARGUMENT;
        Failure::status(status, kind_name(status), message)
    }

    /// A bug: a caught panic.
    pub fn internal(message: impl Into<String>) -> Failure {
        let status = Status::CODOMYRMEX_ERR_INTERNAL;
        Failure::status(status, kind_name(status), message)
    }

    /// Prints the one error line on standard error.
    pub fn report(&self) {
        let _ = writeln!(
            io::stderr(),
            "codomyrmex-keys: {}: {}",
            self.kind,
            one_line(&self.message)
        );
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(2, "USAGE", message)
    }

    pub fn io(action: &str, path: &Path, err: &io::Error) -> Failure {
        let (status, kind) = match err.kind() {
            io::ErrorKind::AlreadyExists => {
                (Status::CODOMYRMEX_ERR_ALREADY_EXISTS, "ALREADY_EXISTS")
            }
            _ => (Status::CODOMYRMEX_ERR_IO, "IO"),
        };
        Failure::status(
            status,
            kind,
            format!("{action} '{}': {err}", path.display()),
        )
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        if err.kind() == ErrorKind::VerifyFailed {
            return Failure::new(1, "VERIFY_FAILED", err.message());
        }
        let status = Status::from(err.kind());
        Failure::status(status, kind_name(status), err.message())
    }
}

/// The status's name without its `CODOMYRMEX_ERR_` prefix, e.g. `NOT_FOUND`.
fn kind_name(status: Status) -> &'static str {
    let name = status.name().to_str().unwrap_or("CODOMYRMEX_ERR_INTERNAL");
    name.strip_prefix("CODOMYRMEX_ERR_").unwrap_or(name)
}

/// `text` with control characters (newlines in a path, say) escaped.
fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    line
}
