//! The committed C header must equal a fresh cbindgen generation.
//!
//! Regenerate it with `UPDATE_HEADER=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let header = crate_dir.join("include/codomyrmex_keys.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&header, &fresh).expect("header is writable");
        return;
    }
    let committed = std::fs::read(&header).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/codomyrmex_keys.h is stale: it differs from what cbindgen generates from src/ffi.\n\
         Regenerate it with `UPDATE_HEADER=1 cargo test --test header` and commit the result."
    );
}
