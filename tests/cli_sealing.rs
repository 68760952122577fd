//! The CLI's sealing commands: `kek generate`, `seal`, `rewrap`, and the
//! `--kek`, `--kek-credential` and `--require-sealed` options.

mod cli_support;

use cli_support::{fresh, keys, keys_on_terminal, mode_of};
use std::path::Path;

const MAGIC: &[u8] = b"\x89CDXSEAL";

/// Every key file and version record under `dir`, and whether each is
/// sealed.
fn sealed_files(dir: &Path) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(sealed_files(&path));
        } else if !name.starts_with('.') {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path.display().to_string(), bytes.starts_with(MAGIC)));
        }
    }
    out
}

#[test]
fn kek_generate_writes_a_new_private_file_and_never_a_terminal() {
    let (tmp, dir) = fresh();
    let kek = tmp.path().join("keys.kek");
    let kek = kek.to_str().unwrap();
    keys(&dir, &["kek", "generate", "--out", kek]).ok();
    assert_eq!(std::fs::read(kek).unwrap().len(), 32);
    assert_eq!(mode_of(Path::new(kek)), 0o400);
    keys(&dir, &["kek", "generate", "--out", kek]).fails(17, "ALREADY_EXISTS");
    let (code, stderr) = keys_on_terminal(&dir, &["kek", "generate", "--out", "-"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("terminal"), "{stderr}");
}

#[test]
fn seal_seals_a_plain_store_in_place_once() {
    let (tmp, dir) = fresh();
    let kek = tmp.path().join("keys.kek");
    let kek = kek.to_str().unwrap();
    keys(&dir, &["kek", "generate", "--out", kek]).ok();
    keys(&dir, &["generate", "api"]).ok();
    keys(&dir, &["rotate", "api"]).ok();
    let tag = keys(&dir, &["hmac", "api", "--tagged", "/dev/null"])
        .ok()
        .line();
    keys(&dir, &["seal"]).fails(2, "USAGE");
    assert_eq!(
        keys(&dir, &["--kek", kek, "seal"]).ok().line(),
        "sealed 2 files"
    );
    assert_eq!(
        keys(&dir, &["--kek", kek, "seal"]).ok().line(),
        "sealed 0 files"
    );
    let files = sealed_files(&dir);
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|(_, sealed)| *sealed), "{files:?}");
    // With the KEK everything works; without it, ids and versions only.
    keys(
        &dir,
        &[
            "--kek",
            kek,
            "--require-sealed",
            "verify",
            "api",
            &tag,
            "/dev/null",
            "--tagged",
            "--quiet",
        ],
    )
    .ok();
    assert_eq!(keys(&dir, &["list"]).ok().line(), "api");
    assert_eq!(
        keys(&dir, &["versions", "api"]).ok().out(),
        "1\n2 (current)\n"
    );
    keys(&dir, &["get", "api"]).fails(21, "CORRUPT");
}

#[test]
fn rewrap_moves_a_store_to_a_new_kek_and_a_rerun_has_nothing_left() {
    let (tmp, dir) = fresh();
    let old = tmp.path().join("old.kek");
    let new = tmp.path().join("new.kek");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    keys(&dir, &["kek", "generate", "--out", old]).ok();
    keys(&dir, &["kek", "generate", "--out", new]).ok();
    keys(&dir, &["--kek", old, "generate", "a"]).ok();
    keys(&dir, &["--kek", old, "generate", "b"]).ok();
    keys(&dir, &["--kek", old, "rotate", "b"]).ok();
    let tag = keys(&dir, &["--kek", old, "hmac", "b", "--tagged", "/dev/null"])
        .ok()
        .line();
    let rewrap = ["rewrap", "--old-kek", old, "--new-kek", new];
    assert_eq!(
        keys(&dir, &rewrap).ok().line(),
        "rewrapped 3 files under the new KEK"
    );
    assert_eq!(
        keys(&dir, &rewrap).ok().line(),
        "rewrapped 0 files under the new KEK"
    );
    keys(
        &dir,
        &[
            "--kek",
            new,
            "--require-sealed",
            "verify",
            "b",
            &tag,
            "/dev/null",
            "--tagged",
            "--quiet",
        ],
    )
    .ok();
    keys(&dir, &["--kek", old, "get", "a"]).fails(21, "CORRUPT");
    keys(
        &dir,
        &["--kek", new, "rewrap", "--old-kek", old, "--new-kek", new],
    )
    .fails(2, "USAGE");
}
