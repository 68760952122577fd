//! Gives the shared library a versioned SONAME, `libcodomyrmex_keys.so.<major>`,
//! as C libraries have (plain cargo sets none), so programs linked against
//! 1.x keep loading any later 1.y and refuse a 2.0.
//!
//! Programs linked in the build tree record that name, so the profile
//! directory (`target/release`) also gets `libcodomyrmex_keys.so.<major>` as a
//! symbolic link to the library cargo writes; `scripts/install.sh` installs
//! the real file under its full version.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let soname = concat!("libcodomyrmex_keys.so.", env!("CARGO_PKG_VERSION_MAJOR"));
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    // OUT_DIR is <profile dir>/build/<package>-<hash>/out.
    let out_dir = std::env::var_os("OUT_DIR").unwrap_or_default();
    if let Some(profile_dir) = Path::new(&out_dir).ancestors().nth(3) {
        let link = profile_dir.join(soname);
        if std::fs::symlink_metadata(&link).is_err() {
            // Only a convenience for linking in the build tree: a failure
            // here must not fail the build.
            let _ = std::os::unix::fs::symlink("libcodomyrmex_keys.so", &link);
        }
    }
}
