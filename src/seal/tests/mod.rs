//! Tests of sealing and of KEK loading.

mod format;
mod kek;

use crate::error::{ErrorKind, Result};

/// Bytes from hexadecimal text (whitespace ignored).
pub(super) fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Lowercase hexadecimal text of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts that `result` failed with `kind` and a one-line message
/// containing `needle`; returns the message.
#[track_caller]
pub(super) fn expect_error<T>(result: Result<T>, kind: ErrorKind, needle: &str) -> String {
    let Err(err) = result else {
        panic!("expected {kind:?} containing {needle:?}, got success");
    };
    assert_eq!(err.kind(), kind, "wrong kind; message: {}", err.message());
    assert!(
        err.message().contains(needle),
        "message {:?} lacks {needle:?}",
        err.message()
    );
    assert!(!err.message().contains('\n'), "message has several lines");
    err.message().to_string()
}
