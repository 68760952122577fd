//! The directory checked against the model through a fresh key manager:
//! every key, version and tagged MAC, and every entry on disk.

use crate::common::records::{read_record, successor_digest};
use crate::common::store::{current_number, version_bytes, version_list};
use crate::common::{Rng, parse_tagged_value};
use crate::model::{Context, KeyModel, Model};
use crate::*;
use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Version, hmac};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub(crate) fn expect_not_found<T>(result: codomyrmex_keys::Result<T>, what: &str, ctx: &Context) {
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("{what}: expected NotFound, got {e:?} {ctx}"),
        Ok(_) => panic!("{what}: expected NotFound, got a value {ctx}"),
    }
}

/// Checks the directory against the model through a fresh key manager.
/// With `full`, every version is read; otherwise new ones, the oldest, the
/// current and a sample.
pub(crate) fn verify(dir: &Path, model: &mut Model, rng: &mut Rng, full: bool, ctx: &Context) {
    let km = KeyManager::open(dir).unwrap_or_else(|e| panic!("reopen after a kill: {e} {ctx}"));
    let expected_ids: Vec<&str> = model
        .keys
        .iter()
        .filter(|(_, k)| k.exists)
        .map(|(id, _)| *id)
        .collect();
    let listed = km.list().unwrap_or_else(|e| panic!("list: {e} {ctx}"));
    assert_eq!(listed, expected_ids, "list after a kill {ctx}");

    let ids: Vec<&'static str> = model.keys.keys().copied().collect();
    for id in ids {
        let key = model.keys[id].clone();
        if !key.exists {
            assert!(
                !km.exists(id).unwrap(),
                "{id} exists after its delete {ctx}"
            );
            expect_not_found(km.get(id), &format!("get({id})"), ctx);
            expect_not_found(version_list(&km, id), &format!("list_versions({id})"), ctx);
            expect_not_found(
                current_number(&km, id),
                &format!("current_version({id})"),
                ctx,
            );
            continue;
        }
        let current = km
            .get(id)
            .unwrap_or_else(|e| panic!("get({id}) after a kill: {e} {ctx}"));
        if let Err(why) = parse_tagged_value(&current) {
            panic!("get({id}) after a kill is not a complete value: {why} {ctx}");
        }
        let expected_current = model.value(id, key.cur_seq());
        assert!(
            current.as_bytes() == expected_current.as_slice(),
            "get({id}) is {:?}, the journal says {} {ctx}",
            parse_tagged_value(&current),
            tag_of(id, key.cur_seq())
        );
        let version = current_number(&km, id).unwrap();
        assert_eq!(version, key.cur(), "current_version({id}) {ctx}");
        let listed = version_list(&km, id).unwrap();
        let expected: Vec<u32> = (key.first..=key.cur()).collect();
        assert_eq!(listed, expected, "list_versions({id}) {ctx}");
        assert_eq!(
            listed.last(),
            Some(&version),
            "list ends with current {ctx}"
        );
        model.stats.most_versions = model.stats.most_versions.max(listed.len());

        let mut check: Vec<u32> = if full || listed.len() <= 64 {
            listed.clone()
        } else {
            let mut some: Vec<u32> = (key.verified.max(key.first)..=key.cur()).collect();
            some.extend([key.first, key.cur()]);
            some.extend((0..16).map(|_| rng.between(key.first.into(), key.cur().into()) as u32));
            some
        };
        check.sort_unstable();
        check.dedup();
        for v in check {
            let seq = key.seqs[(v - key.first) as usize];
            let bytes = version_bytes(&km, id, v)
                .unwrap_or_else(|e| panic!("get_version({id}, {v}) after a kill: {e} {ctx}"));
            assert!(
                bytes.as_bytes() == model.value(id, seq).as_slice(),
                "version {v} of {id} is {:?}, the journal says {} {ctx}",
                parse_tagged_value(&bytes),
                tag_of(id, seq)
            );
        }
        let at_current = km.key(id).unwrap().at(Version::Current).get().unwrap();
        assert_eq!(at_current, current, "Version::Current {ctx}");
        if key.first > 1 {
            expect_not_found(
                version_bytes(&km, id, key.first - 1),
                &format!("pruned version {} of {id}", key.first - 1),
                ctx,
            );
        }
        expect_not_found(
            version_bytes(&km, id, key.cur() + 1),
            &format!("future version of {id}"),
            ctx,
        );
        // A tagged MAC names the current version and verifies.
        let tag = km
            .key(id)
            .unwrap()
            .hmac_tagged(HashAlg::Sha256, b"crash")
            .unwrap();
        assert_eq!(tag.version(), key.cur(), "tagged MAC version of {id} {ctx}");
        assert_eq!(
            &tag.as_bytes()[5..],
            hmac(HashAlg::Sha256, &expected_current, b"crash").as_bytes(),
            "{ctx}"
        );
        model.key(id).verified = key.cur();
    }
    scan_directory(dir, model, ctx);
}

/// Every entry of the key directory must be one the library makes; counts
/// what the kills left behind.
pub(crate) fn scan_directory(dir: &Path, model: &mut Model, ctx: &Context) {
    let private = |path: &Path, file_type: &str| {
        let meta = std::fs::symlink_metadata(path).unwrap();
        let ok_type = match file_type {
            "file" => meta.file_type().is_file(),
            _ => meta.file_type().is_dir(),
        };
        assert!(ok_type, "{} is not a {file_type} {ctx}", path.display());
        assert_eq!(
            meta.mode() & 0o077,
            0,
            "{} is not private (mode {:o}) {ctx}",
            path.display(),
            meta.mode() & 0o7777
        );
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().expect("UTF-8 name");
        let path = entry.path();
        if name == ".lock" {
            private(&path, "file");
        } else if name == ".versions" {
            private(&path, "dir");
        } else if let Some(id) = name.strip_suffix(".key") {
            assert!(
                model.keys.get(id).is_some_and(|k| k.exists),
                "stray key file {name} {ctx}"
            );
            private(&path, "file");
            assert_eq!(entry.metadata().unwrap().mode() & 0o7777, 0o600, "{name}");
        } else if let Some(id) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".key.tmp"))
        {
            assert!(model.keys.contains_key(id), "stray temp file {name} {ctx}");
            private(&path, "file");
            model.stats.key_temp_files_left += 1;
        } else {
            panic!("stray entry {name:?} in the key directory {ctx}");
        }
    }
    let versions = dir.join(".versions");
    if !versions.exists() {
        return;
    }
    for entry in std::fs::read_dir(&versions).unwrap() {
        let entry = entry.unwrap();
        let id = entry.file_name().into_string().expect("UTF-8 name");
        let key = match model.keys.get(id.as_str()) {
            Some(key) => key.clone(),
            None => panic!("stray version directory {id:?} {ctx}"),
        };
        private(&entry.path(), "dir");
        for record in std::fs::read_dir(entry.path()).unwrap() {
            let record = record.unwrap();
            let name = record.file_name().into_string().expect("UTF-8 name");
            private(&record.path(), "file");
            if name.starts_with('.') && name.ends_with(".tmp") {
                model.stats.record_temp_files_left += 1;
            } else {
                assert!(
                    name.parse::<u32>().is_ok_and(|n| n > 0) && !name.starts_with('0'),
                    "stray entry {name:?} in the versions of {id} {ctx}"
                );
                if key.exists {
                    check_record(&record.path(), &id, &key, model, ctx);
                } else {
                    // Left by a delete killed after it removed the key
                    // file; ignored, and removed by the next open or write.
                    model.stats.records_left_by_interrupted_delete += 1;
                }
            }
        }
    }
}

/// A record of the existing key `id` holds one of its versions, as the
/// journal says, and names the key that replaced it (when that one is
/// committed) by its digest.
fn check_record(path: &Path, id: &str, key: &KeyModel, model: &Model, ctx: &Context) {
    let record = read_record(path);
    let n: u32 = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(record.version, Some(n), "{} {ctx}", path.display());
    assert!(
        (key.first..=key.cur()).contains(&n),
        "record {n} of {id} outside versions {}..={} {ctx}",
        key.first,
        key.cur()
    );
    let value = |v: u32| model.value(id, key.seqs[(v - key.first) as usize]);
    assert!(
        record.key == value(n),
        "record {n} of {id} holds {:?}, the journal says {} {ctx}",
        parse_tagged_value(&record.key),
        tag_of(id, key.seqs[(n - key.first) as usize])
    );
    if let Some((next, digest)) = record.successor {
        assert!(next > n, "record {n} of {id} names successor {next} {ctx}");
        // A successor past the current version is a rotation a kill
        // interrupted before its commit.
        if next <= key.cur() {
            assert_eq!(
                digest,
                successor_digest(&value(next)),
                "record {n} of {id} names another key as version {next} {ctx}"
            );
        }
    }
}
