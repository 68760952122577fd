//! The fixture of the hostile-input tests: key values that mark key
//! material (so a message that carries some is caught), a key directory
//! with a key of three versions, another key and an attacker's directory
//! beside it, and how a key looks through the safe API.

use super::fs::{set_mode, write_file};
use super::store::{version_bytes, version_list};
use codomyrmex_keys::{Error, KeyManager};
use std::path::PathBuf;

/// Every key value here contains this word, so a message that carries key
/// material is caught; paths and ids never contain it.
pub const MARK: &str = "SECRET";
/// Version 1 of "victim".
pub const V1: &[u8] = b"victim SECRET version 1";
/// Version 2 of "victim".
pub const V2: &[u8] = b"victim SECRET version 2, longer";
/// Version 3 of "victim", its current one.
pub const V3: &[u8] = b"victim SECRET version 3 (current)";
/// The key "other".
pub const OTHER: &[u8] = b"other SECRET key";
/// The attacker's file outside the key directory.
pub const OUTSIDE: &[u8] = b"outside SECRET, must never be read or written";
/// What the operations under test write.
pub const NEW: &[u8] = b"new SECRET value";

/// Asserts that an error message is one printable line without key
/// material.
pub fn check_message(err: &Error, what: &str) {
    let message = err.message();
    assert!(!message.is_empty(), "{what}: empty message");
    assert!(
        message.chars().all(|c| !c.is_control()),
        "{what}: the message is not one printable line: {message:?}"
    );
    assert!(
        !message.contains(MARK),
        "{what}: the message holds key material: {message:?}"
    );
}

/// What a key looks like through `km`: its current bytes, its versions and
/// each version's bytes (or the error kinds).
pub fn key_state(km: &KeyManager, id: &str) -> String {
    let current = match km.get(id) {
        Ok(bytes) => format!("{:?}", String::from_utf8_lossy(&bytes)),
        Err(e) => format!("{:?}", e.kind()),
    };
    let versions = match version_list(km, id) {
        Ok(list) => list
            .iter()
            .map(|&n| match version_bytes(km, id, n) {
                Ok(bytes) => format!("{n}={:?}", String::from_utf8_lossy(&bytes)),
                Err(e) => format!("{n}={:?}", e.kind()),
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("{:?}", e.kind()),
    };
    format!("{id}: {current} [{versions}]")
}

/// [`key_state`] of each of `ids`.
pub fn all_key_states(km: &KeyManager, ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| key_state(km, id)).collect()
}

/// A fresh key directory `<root>/keys` with key "victim" at version 3
/// (versions 1 and 2 recorded), key "other", and `<root>/outside`, a
/// directory of the attacker's with a file `secret`.
pub struct Env {
    _tmp: tempfile::TempDir,
    /// The temporary directory holding everything.
    pub root: PathBuf,
    /// The key directory, `<root>/keys`.
    pub dir: PathBuf,
    /// The attacker's directory, `<root>/outside`.
    pub outside: PathBuf,
    /// A key manager on `dir`.
    pub km: KeyManager,
}

impl Env {
    /// Makes the fixture.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let dir = root.join("keys");
        let km = KeyManager::open(&dir).unwrap();
        km.store("victim", V1).unwrap();
        km.rotate("victim", V2).unwrap();
        km.rotate("victim", V3).unwrap();
        km.store("other", OTHER).unwrap();
        let outside = root.join("outside");
        std::fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o700);
        write_file(&outside.join("secret"), OUTSIDE, 0o600);
        Env {
            _tmp: tmp,
            root,
            dir,
            outside,
            km,
        }
    }

    /// The key file of `id`.
    pub fn key(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.key"))
    }

    /// The record of `version` of `id`.
    pub fn record(&self, id: &str, version: u32) -> PathBuf {
        self.dir.join(format!(".versions/{id}/{version}"))
    }

    /// The attacker's file.
    pub fn secret(&self) -> PathBuf {
        self.outside.join("secret")
    }
}
