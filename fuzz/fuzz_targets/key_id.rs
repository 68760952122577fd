//! The key-id rule against an independent statement of it.
//!
//! Input: the candidate key id, as raw bytes.
//!
//! Checks that `validate_key_id` accepts exactly the ids of 1 to 128 bytes
//! from `[A-Za-z0-9._-]` that do not start with `.`, returns them unchanged,
//! and that the file name `<id>.key` of an accepted id is one plain path
//! component (never `.`, `..`, a hidden name or anything with a separator).
//! A refusal must be `InvalidKeyId` with a one-line message.

#![no_main]

use codomyrmex_keys::{ErrorKind, MAX_KEY_ID_LEN, validate_key_id};
use libfuzzer_sys::fuzz_target;
use std::ffi::OsStr;
use std::path::{Component, Path};

/// The rule, written out without looking at the library's code.
fn allowed(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id[0] != b'.'
        && id
            .iter()
            .all(|&b| matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

fn check_file_name(id: &str) {
    let name = format!("{id}.key");
    assert!(name != "." && name != "..", "{name:?}");
    assert!(!name.starts_with('.'), "hidden file name {name:?}");
    assert!(!name.contains(['/', '\\', '\0']), "{name:?}");

    let path = Path::new(&name);
    let components: Vec<Component<'_>> = path.components().collect();
    assert_eq!(
        components,
        [Component::Normal(OsStr::new(&name))],
        "{name:?} is not a single normal path component"
    );
    // Joined to a directory, it names an entry of that directory itself.
    let dir = Path::new("keys");
    let joined = dir.join(&name);
    assert_eq!(joined.parent(), Some(dir));
    assert_eq!(joined.file_name(), Some(OsStr::new(&name)));
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(MAX_KEY_ID_LEN, 128);
    let expected = allowed(data);
    match validate_key_id(data) {
        Ok(id) => {
            assert!(expected, "accepted an id the rule refuses: {data:?}");
            assert_eq!(id.as_bytes(), data);
            check_file_name(id);
        }
        Err(err) => {
            assert!(!expected, "refused a valid id {data:?}: {err}");
            assert_eq!(err.kind(), ErrorKind::InvalidKeyId);
            let message = err.message();
            assert!(!message.is_empty());
            assert!(
                !message.contains(['\n', '\r', '\0']),
                "message is not one line: {message:?}"
            );
        }
    }
});
