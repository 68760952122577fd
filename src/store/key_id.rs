//! The key-id rule: 1 to 128 bytes from `[A-Za-z0-9._-]`, not starting with
//! `.`. No id that passes can name a file outside the key directory, a hidden
//! file, or anything but `<id>.key`.

use crate::error::{Error, ErrorKind, Result};

/// The longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 128;

/// Whether `key_id` follows the key-id rule. This is the rule itself;
/// [`validate_key_id`] only adds the explanation of a failure.
pub(crate) fn is_valid_key_id(key_id: &[u8]) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&key_id.len())
        && key_id[0] != b'.'
        && key_id.iter().copied().all(is_key_id_byte)
}

fn is_key_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')
}

/// Checks `key_id` against the key-id rule and returns it as text.
///
/// # Errors
/// [`ErrorKind::InvalidKeyId`] naming the offending byte or length: empty,
/// longer than [`MAX_KEY_ID_LEN`], starting with `.`, or containing anything
/// but ASCII letters, digits, `.`, `_` and `-` (so no `/`, `\`, NUL, space
/// or non-ASCII byte).
pub fn validate_key_id(key_id: &[u8]) -> Result<&str> {
    if is_valid_key_id(key_id) {
        // The rule admits ASCII only, so this cannot fail.
        if let Ok(text) = std::str::from_utf8(key_id) {
            return Ok(text);
        }
    }
    let problem = if key_id.is_empty() {
        "it is empty".to_string()
    } else if key_id.len() > MAX_KEY_ID_LEN {
        format!(
            "it has {} bytes, the limit is {MAX_KEY_ID_LEN}",
            key_id.len()
        )
    } else if key_id[0] == b'.' {
        "it starts with '.'".to_string()
    } else {
        let at = key_id
            .iter()
            .position(|&b| !is_key_id_byte(b))
            .unwrap_or_default();
        format!(
            "byte {at} ('{}') is not one of A-Z a-z 0-9 . _ -",
            key_id[at].escape_ascii()
        )
    };
    Err(Error::new(
        ErrorKind::InvalidKeyId,
        format!("invalid key id \"{}\": {problem}", shown(key_id)),
    ))
}

/// The id as it may appear in a message: escaped, at most 64 bytes shown.
fn shown(key_id: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut text: String = key_id
        .iter()
        .take(SHOWN)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect();
    if key_id.len() > SHOWN {
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        for id in ["a", "A-Z_0.9", "key.v2", "x..y", &"k".repeat(128)] {
            assert_eq!(validate_key_id(id.as_bytes()).unwrap(), id);
        }
    }

    #[test]
    fn refuses_everything_else() {
        let long = "k".repeat(129);
        let bad: [&[u8]; 12] = [
            b"",
            b".",
            b"..",
            b".hidden",
            b"../x",
            b"a/b",
            b"a\\b",
            b"a\0b",
            b"a b",
            "caf\u{e9}".as_bytes(),
            long.as_bytes(),
            b"\xff",
        ];
        for id in bad {
            let err = validate_key_id(id).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidKeyId, "{id:?}");
            assert!(!err.message().contains('\0') && !err.message().contains('\n'));
        }
    }
}
