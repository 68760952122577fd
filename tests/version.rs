//! The version is one number everywhere: Cargo.toml, `codomyrmex_version()`
//! and the header's version macros.

use codomyrmex_keys::ffi::library::{
    CODOMYRMEX_VERSION_MAJOR, CODOMYRMEX_VERSION_MINOR, CODOMYRMEX_VERSION_PATCH,
    codomyrmex_version,
};
use std::ffi::CStr;

fn header_macro(header: &str, name: &str) -> u32 {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the header defines {name}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

#[test]
fn version_string_equals_the_crate_version() {
    // SAFETY: codomyrmex_version returns a static NUL-terminated string.
    let reported = unsafe { CStr::from_ptr(codomyrmex_version()) };
    assert_eq!(reported.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn version_constants_and_header_macros_equal_the_crate_version() {
    let cargo: Vec<u32> = [
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    ]
    .iter()
    .map(|part| part.parse().unwrap())
    .collect();
    assert_eq!(
        [
            CODOMYRMEX_VERSION_MAJOR,
            CODOMYRMEX_VERSION_MINOR,
            CODOMYRMEX_VERSION_PATCH
        ],
        cargo[..],
        "the constants in src/ffi/library.rs must follow Cargo.toml's version"
    );
    let header = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/codomyrmex_keys.h"
    ))
    .unwrap();
    let macros: Vec<u32> = ["MAJOR", "MINOR", "PATCH"]
        .iter()
        .map(|part| header_macro(&header, &format!("CODOMYRMEX_VERSION_{part}")))
        .collect();
    assert_eq!(
        macros, cargo,
        "the header's version macros must follow Cargo.toml's version"
    );
}
