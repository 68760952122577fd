//! The KEK value: its length rule, its id, what `Debug` shows.

use super::format::{VECTOR_KEK, VECTOR_KEK_ID, vector_kek};
use super::{expect_error, hex, unhex};
use crate::error::ErrorKind;
use crate::seal::Kek;

#[test]
fn a_kek_is_exactly_32_bytes() {
    for len in [0, 1, 31, 33, 64] {
        let message = expect_error(
            Kek::from_bytes(&vec![1; len]),
            ErrorKind::InvalidArgument,
            "exactly 32 bytes",
        );
        assert!(
            message.ends_with(&format!("; {len} bytes were given")),
            "{message}"
        );
    }
    assert!(Kek::from_bytes(&[1; 32]).is_ok());
}

/// The id is HMAC-SHA256(KEK, "codomyrmex_keys kek id v1") cut to 8 bytes,
/// checked against an independent HMAC implementation.
#[test]
fn the_kek_id_is_the_documented_hmac() {
    let kek_bytes = unhex(VECTOR_KEK);
    let reference = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &kek_bytes),
        b"codomyrmex_keys kek id v1",
    );
    let id = vector_kek().id();
    assert_eq!(id.to_string(), hex(&reference.as_ref()[..8]));
    assert_eq!(id.to_string(), VECTOR_KEK_ID);
    assert_eq!(format!("{id:?}"), format!("KekId({VECTOR_KEK_ID})"));
    let other = Kek::from_bytes(&[0; 32]).unwrap().id();
    assert_ne!(other, id);
    assert_eq!(other.to_string().len(), 16);
    assert!(
        other
            .to_string()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn debug_shows_only_the_id() {
    let shown = format!("{:?}", vector_kek());
    assert_eq!(shown, format!("Kek {{ id: {VECTOR_KEK_ID} }}"));
    assert!(!shown.contains(&VECTOR_KEK[..8]));
}
