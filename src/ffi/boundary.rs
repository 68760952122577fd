//! The panic boundary every entry point runs inside, and the calling
//! thread's last error (message and errno).

use super::args::Args;
use super::status::{Failure, codomyrmex_status};
use crate::error::Status;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The last failure on one thread. Successful calls leave it alone.
struct LastError {
    message: String,
    os_error: i32,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = const {
        RefCell::new(LastError { message: String::new(), os_error: 0 })
    };
}

/// Runs `body` with a fresh argument tracker, turning its failure into a
/// status plus this thread's last error, and a panic into
/// `CODOMYRMEX_ERR_INTERNAL`.
pub(crate) fn guard(body: impl FnOnce(&mut Args) -> Result<(), Failure>) -> codomyrmex_status {
    let failure = match catch_unwind(AssertUnwindSafe(|| body(&mut Args::default()))) {
        Ok(Ok(())) => return codomyrmex_status::CODOMYRMEX_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => internal_error(panic.as_ref()),
    };
    let status = failure.status;
    set_last_error(failure);
    status
}

/// Runs `body`, which cannot fail, returning `on_panic` (and recording an
/// internal error) if it panics. For entry points that return a value
/// rather than a status.
pub(crate) fn guard_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        set_last_error(internal_error(panic.as_ref()));
        on_panic
    })
}

fn internal_error(panic: &(dyn std::any::Any + Send)) -> Failure {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic");
    Failure::new(
        Status::Internal,
        format!("internal error (a bug in codomyrmex_keys, please report it): {what}"),
    )
}

fn set_last_error(failure: Failure) {
    // One line, always: a newline would break log formats.
    let message = if failure.message.contains(['\n', '\r', '\0']) {
        failure.message.replace(['\n', '\r', '\0'], " ")
    } else {
        failure.message
    };
    let last = LastError {
        message,
        os_error: failure.os_error.unwrap_or(0),
    };
    // Ignore failure: a thread being torn down has no slot to write to.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = last);
}

/// Runs `read` on this thread's last error message ("" if there has been
/// no failure).
pub(crate) fn with_last_error<T>(read: impl FnOnce(&str) -> T) -> T {
    LAST_ERROR.with(|slot| read(&slot.borrow().message))
}

/// The errno behind this thread's last failure, 0 if none.
pub(crate) fn last_os_error() -> i32 {
    LAST_ERROR.with(|slot| slot.borrow().os_error)
}
