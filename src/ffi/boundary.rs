//! The panic boundary every entry point runs inside, and the calling
//! thread's last error message.

use super::status::{Failure, codomyrmex_status};
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// The message of the last failure on this thread. Successful calls
    /// leave it alone.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `body`, turning its failure into a status plus this thread's last
/// error message, and a panic into `CODOMYRMEX_ERR_INTERNAL`.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> codomyrmex_status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return codomyrmex_status::CODOMYRMEX_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => internal_error(panic.as_ref()),
    };
    set_last_error(failure.message);
    failure.status
}

/// Runs `body`, which cannot fail, returning `on_panic` (and recording an
/// internal error) if it panics. For entry points that return a value
/// rather than a status.
pub(crate) fn guard_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        set_last_error(internal_error(panic.as_ref()).message);
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
        codomyrmex_status::CODOMYRMEX_ERR_INTERNAL,
        format!("internal error (a bug in codomyrmex_keys, please report it): {what}"),
    )
}

fn set_last_error(message: String) {
    // One line, always: a newline would break log formats.
    let message = if message.contains(['\n', '\r', '\0']) {
        message.replace(['\n', '\r', '\0'], " ")
    } else {
        message
    };
    // Ignore failure: a thread being torn down has no slot to write to.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
}

/// Runs `read` on this thread's last error message ("" if there has been
/// no failure).
pub(crate) fn with_last_error<T>(read: impl FnOnce(&str) -> T) -> T {
    LAST_ERROR.with(|slot| read(&slot.borrow()))
}
