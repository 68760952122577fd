//! The subcommands, grouped by what they work on, each beside the options
//! it takes; and the small conversions they share.

pub mod export;
pub mod import;
pub mod keys;
pub mod macs;
pub mod sealing;
pub mod versions;

use crate::failure::{Answer, Failure};
use codomyrmex_keys::{HashAlg, Version, validate_key_id};
use std::ffi::OsStr;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;

/// Help text of every KEY_ID argument.
pub const KEY_ID_HELP: &str =
    "Key id: 1 to 128 characters from [A-Za-z0-9._-], not starting with '.'";

/// Length of a random key when none is given.
pub const DEFAULT_KEY_LEN: usize = 32;

/// Checks a key id against the library's rule (any bytes may arrive).
pub fn key_id(raw: &OsStr) -> Result<&str, Failure> {
    Ok(validate_key_id(raw.as_bytes())?)
}

/// The algorithm named by `--alg`.
pub fn alg_named(name: &str) -> Result<HashAlg, Failure> {
    Ok(HashAlg::from_name(name)?)
}

/// `--version N` as a library version: absent or 0 is the current one.
pub fn version_of(number: Option<u32>) -> Version {
    number
        .and_then(NonZeroU32::new)
        .map_or(Version::Current, Version::Number)
}

/// The answer for a yes/no question (exit status 0 or 1).
pub fn answer(yes: bool) -> Answer {
    if yes { Answer::Yes } else { Answer::No }
}

/// Version numbers as `1,2,3`, or `-` for none.
pub fn version_list(versions: &[NonZeroU32]) -> String {
    if versions.is_empty() {
        return "-".to_string();
    }
    let numbers: Vec<String> = versions.iter().map(ToString::to_string).collect();
    numbers.join(",")
}
