//! How a run ends: its answer, or a failure with its exit code.

use codomyrmex_keys::{Error, ErrorKind, Status};
use std::io::{self, Write};
use std::path::Path;

/// A successful run's answer: exit status 0 or 1.
pub enum Answer {
    /// Exit status 0: done, or yes.
    Yes,
    /// Exit status 1: no (no such key, an invalid MAC).
    No,
}

/// What a run produces.
pub type Outcome = Result<Answer, Failure>;

/// What kind of failure ended a run, which decides its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A library status: exit code 10 + its number.
    Status(Status),
    /// A MAC did not verify: exit code 1.
    VerifyFailed,
    /// A refused command line: exit code 2.
    Usage,
}

/// Why a run failed: its kind and a one-line message (never key material).
#[derive(Debug)]
pub struct Failure {
    /// Decides the exit code and the name printed.
    pub kind: Kind,
    /// What went wrong, naming ids and paths.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// A failure with a library status.
    pub fn status(status: Status, message: impl Into<String>) -> Failure {
        Failure::new(Kind::Status(status), message)
    }

    /// An `INVALID_ARGUMENT` failure.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::status(Status::InvalidArgument, message)
    }

    /// A bug: a caught panic, or an invariant of this tool broken.
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::status(Status::Internal, message)
    }

    /// A refused command line (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Usage, message)
    }

    /// A failed operation on `path`: `ALREADY_EXISTS` for an existing
    /// path, else `IO`.
    pub fn io(action: &str, path: &Path, err: &io::Error) -> Failure {
        let status = match err.kind() {
            io::ErrorKind::AlreadyExists => Status::AlreadyExists,
            _ => Status::Io,
        };
        Failure::status(status, format!("{action} '{}': {err}", path.display()))
    }

    /// The process's exit code.
    pub fn code(&self) -> u8 {
        match self.kind {
            Kind::Status(status) => 10 + u8::try_from(status.code()).unwrap_or(2),
            Kind::VerifyFailed => 1,
            Kind::Usage => 2,
        }
    }

    /// Prints the one error line on standard error.
    pub fn report(&self) {
        let kind = match self.kind {
            Kind::Status(status) => status.name(),
            Kind::VerifyFailed => "VERIFY_FAILED",
            Kind::Usage => "USAGE",
        };
        let _ = writeln!(
            io::stderr(),
            "codomyrmex-keys: {kind}: {}",
            one_line(&self.message)
        );
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        let kind = match err.kind() {
            ErrorKind::VerifyFailed => Kind::VerifyFailed,
            other => Kind::Status(Status::from(other)),
        };
        Failure::new(kind, err.message())
    }
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
