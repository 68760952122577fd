//! Versions of a key in a private directory and the records that keep
//! them: each record is bound to the key that replaced it, so a key file
//! written by something that knows nothing of versions (copied over, or
//! re-created after an `rm`) starts a history of its own, and a deleted
//! key never comes back through its old records. Records of release 1.0
//! (raw key bytes) are still read.

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Version};
use common::fs::write_file;
use common::records::{read_record, record_key, successor_digest};
use common::store::{current_number, fresh, kind, v, version_bytes, version_list};
use common::{Entry, snapshot};
use std::num::NonZeroU32;
use std::path::Path;

const V1: &[u8] = b"first key of k";
const V2: &[u8] = b"second key of k";
const V3: &[u8] = b"third key of k";
const COPIED: &[u8] = b"a key file another program wrote";

/// Writes `<dir>/<id>.key` as a program that knows nothing of versions
/// does (the original module, `cp`): the bytes, mode 0600, nothing else.
fn write_outside(dir: &Path, id: &str, key: &[u8]) {
    let temp = dir.join(format!("outside-{id}.tmp"));
    write_file(&temp, key, 0o600);
    std::fs::rename(temp, dir.join(format!("{id}.key"))).unwrap();
}

/// Every file under `dir` whose content contains `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    snapshot(dir)
        .into_iter()
        .filter_map(|(path, entry)| match entry {
            Entry::File { content, .. } if content.windows(needle.len()).any(|w| w == needle) => {
                Some(path.display().to_string())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn records_name_the_key_that_replaced_them() {
    let (_tmp, dir, km) = fresh();
    km.store("k", V1).unwrap();
    km.rotate("k", V2).unwrap();
    km.store("k", V3).unwrap();
    assert_eq!(std::fs::read(dir.join("k.key")).unwrap(), V3, "raw bytes");
    for (n, key, next, next_key) in [(1, V1, 2, V2), (2, V2, 3, V3)] {
        let record = read_record(&dir.join(format!(".versions/k/{n}")));
        assert_eq!(record.version, Some(n));
        assert_eq!(record.key, key, "record {n}");
        assert_eq!(
            record.successor,
            Some((next, successor_digest(next_key))),
            "record {n} names version {next} by its key"
        );
    }
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
    assert_eq!(version_bytes(&km, "k", 1).unwrap().as_bytes(), V1);
}

#[test]
fn a_key_file_copied_over_starts_a_new_history() {
    let (_tmp, dir, km) = fresh();
    km.store("k", V1).unwrap();
    km.rotate("k", V2).unwrap();
    let key = km.key("k").unwrap();
    let old_tag = key.at(v(1)).hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    let tag = key.hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    assert_eq!((old_tag.version(), tag.version()), (1, 2));

    write_outside(&dir, "k", COPIED);
    assert_eq!(km.get("k").unwrap().as_bytes(), COPIED);
    assert_eq!(current_number(&km, "k").unwrap(), 1);
    assert_eq!(version_list(&km, "k").unwrap(), [1]);
    assert_eq!(version_bytes(&km, "k", 1).unwrap().as_bytes(), COPIED);
    assert_eq!(kind(version_bytes(&km, "k", 2)), ErrorKind::NotFound);
    for (what, tag) in [("version 1", old_tag), ("version 2", tag)] {
        assert_eq!(
            kind(key.hmac_verify_tagged(HashAlg::Sha256, b"m", tag.as_bytes())),
            ErrorKind::VerifyFailed,
            "a tag of the replaced {what}"
        );
    }
    let tag = key.hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    assert_eq!(tag.version(), 1);
    key.hmac_verify_tagged(HashAlg::Sha256, b"m", tag.as_bytes())
        .unwrap();

    // The next open removes the old records: no file holds the old keys.
    drop(km);
    let km = KeyManager::open(&dir).unwrap();
    for old in [V1, V2] {
        assert_eq!(files_holding(&dir, old), Vec::<String>::new());
    }
    // The history goes on from the copied key.
    km.rotate("k", V3).unwrap();
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2]);
    assert_eq!(version_bytes(&km, "k", 1).unwrap().as_bytes(), COPIED);
}

#[test]
fn a_key_removed_outside_never_comes_back_through_its_records() {
    let (_tmp, dir, km) = fresh();
    km.store("k", V1).unwrap();
    km.rotate("k", V2).unwrap();
    let leaked = km
        .key("k")
        .unwrap()
        .at(v(1))
        .hmac_tagged(HashAlg::Sha512, b"forged")
        .unwrap();

    // An operator's `rm`, then the id written again by a program that
    // knows nothing of versions.
    std::fs::remove_file(dir.join("k.key")).unwrap();
    assert_eq!(kind(km.get("k")), ErrorKind::NotFound);
    assert_eq!(kind(version_bytes(&km, "k", 1)), ErrorKind::NotFound);
    write_outside(&dir, "k", COPIED);
    assert_eq!(version_list(&km, "k").unwrap(), [1]);
    assert_eq!(version_bytes(&km, "k", 1).unwrap().as_bytes(), COPIED);
    let key = km.key("k").unwrap();
    assert_eq!(
        kind(key.hmac_verify_tagged(HashAlg::Sha512, b"forged", leaked.as_bytes())),
        ErrorKind::VerifyFailed,
        "a tag made with the deleted key"
    );
    // The next write removes the old records.
    km.rotate("k", V3).unwrap();
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2]);
    for old in [V1, V2] {
        assert_eq!(files_holding(&dir, old), Vec::<String>::new());
    }
    assert_eq!(record_key(&dir.join(".versions/k/1")), COPIED);
}

#[test]
fn records_of_a_key_removed_outside_are_removed_at_open() {
    let (_tmp, dir, km) = fresh();
    km.store("k", V1).unwrap();
    km.rotate("k", V2).unwrap();
    drop(km);
    std::fs::remove_file(dir.join("k.key")).unwrap();
    let km = KeyManager::open(&dir).unwrap();
    assert!(!dir.join(".versions/k").exists(), "the records are gone");
    assert_eq!(files_holding(&dir, V1), Vec::<String>::new());
    // A create starts at version 1.
    km.create("k", COPIED).unwrap();
    assert_eq!(version_list(&km, "k").unwrap(), [1]);
}

#[test]
fn records_of_release_1_0_are_read() {
    let (_tmp, dir, km) = fresh();
    // Release 1.0 kept raw bytes: versions 1 and 2 recorded, the key file
    // is version 3.
    std::fs::create_dir_all(dir.join(".versions/k")).unwrap();
    for path in [dir.join(".versions"), dir.join(".versions/k")] {
        common::fs::set_mode(&path, 0o700);
    }
    write_file(&dir.join(".versions/k/1"), V1, 0o600);
    write_file(&dir.join(".versions/k/2"), V2, 0o600);
    write_file(&dir.join("k.key"), V3, 0o600);
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
    assert_eq!(current_number(&km, "k").unwrap(), 3);
    for (n, key) in [(1, V1), (2, V2)] {
        assert_eq!(version_bytes(&km, "k", n).unwrap().as_bytes(), key);
    }
    // A rotation records version 3 in the new format; 1 and 2 stay as
    // they were, and readable.
    km.rotate("k", COPIED).unwrap();
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3, 4]);
    let record = read_record(&dir.join(".versions/k/3"));
    assert_eq!(record.version, Some(3));
    assert_eq!(record.successor, Some((4, successor_digest(COPIED))));
    assert_eq!(read_record(&dir.join(".versions/k/1")).version, None);
    assert_eq!(version_bytes(&km, "k", 2).unwrap().as_bytes(), V2);
    km.prune("k", NonZeroU32::new(2).unwrap()).unwrap();
    assert_eq!(version_list(&km, "k").unwrap(), [3, 4]);
    assert_eq!(files_holding(&dir, V1), Vec::<String>::new());
}

#[test]
fn staged_versions_verify_and_are_promoted() {
    let (_tmp, dir, km) = fresh();
    km.store("k", V1).unwrap();
    let staged = km.stage("k", V2).unwrap();
    assert_eq!(staged.get(), 2);
    let key = km.key("k").unwrap();
    let versions = key.versions().unwrap();
    assert_eq!(versions.current.get(), 1);
    assert_eq!(versions.staged, [staged]);
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2]);
    // MACs are made with the current version; the staged one verifies.
    assert_eq!(key.get().unwrap().as_bytes(), V1);
    let by_staged = key
        .at(Version::Number(staged))
        .hmac_tagged(HashAlg::Sha384, b"m")
        .unwrap();
    key.hmac_verify_tagged(HashAlg::Sha384, b"m", by_staged.as_bytes())
        .unwrap();
    assert!(dir.join(".versions/k/2.staged").is_file());
    km.promote("k", staged).unwrap();
    assert_eq!(key.current_version().unwrap(), staged);
    assert_eq!(key.get().unwrap().as_bytes(), V2);
    assert_eq!(version_bytes(&km, "k", 1).unwrap().as_bytes(), V1);
    assert_eq!(
        kind(km.promote("k", staged)),
        ErrorKind::NotFound,
        "no longer staged"
    );
}

#[test]
fn promoting_a_version_staged_before_a_rotation_keeps_the_history() {
    let (_tmp, _dir, km) = fresh();
    km.store("k", V1).unwrap();
    let key = km.key("k").unwrap();
    let tag1 = key.hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    let staged = km.stage("k", V2).unwrap();
    km.rotate("k", V3).unwrap();
    let tag3 = key.hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    assert_eq!((staged.get(), tag3.version()), (2, 3));
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);

    // Staged as version 2, now below the current version 3. Promoting it
    // may be refused; if it is done, no version is lost.
    match km.promote("k", staged) {
        Ok(()) => {
            assert_eq!(key.get().unwrap().as_bytes(), V2, "the promoted key");
            for (n, bytes) in [(1, V1), (3, V3)] {
                assert_eq!(
                    version_bytes(&km, "k", n).map(|b| b.to_vec()).ok(),
                    Some(bytes.to_vec()),
                    "version {n} after the promotion: versions {:?}",
                    key.versions()
                );
            }
        }
        Err(err) => {
            assert_eq!(key.current_version().unwrap().get(), 3, "{err}");
            assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3], "{err}");
        }
    }
    for tag in [tag1, tag3] {
        key.hmac_verify_tagged(HashAlg::Sha256, b"m", tag.as_bytes())
            .unwrap_or_else(|e| panic!("the tag of version {}: {e}", tag.version()));
    }
}
