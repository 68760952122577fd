//! Keys sealed at rest: a store opened with a key-encryption key writes
//! only sealed files, reads sealed and plain ones, and refuses every
//! altered, moved or foreign file with `Corrupt`, never a wrong key.

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Location, OpenOptions, Version};
use std::fs;
use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"\x89CDXSEAL";

/// A key directory and two KEK files beside it (never inside it).
struct Fixture {
    _tmp: tempfile::TempDir,
    keys: PathBuf,
    kek: PathBuf,
    other_kek: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let kek = write_kek(tmp.path(), "kek", [0x11; 32], 0o400);
    let other_kek = write_kek(tmp.path(), "other-kek", [0x22; 32], 0o600);
    Fixture {
        _tmp: tmp,
        keys,
        kek,
        other_kek,
    }
}

fn write_kek(dir: &Path, name: &str, bytes: [u8; 32], mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn open(dir: &Path, options: OpenOptions) -> KeyManager {
    KeyManager::open_with(&Location::Dir(dir.to_path_buf()), &options).unwrap()
}

fn sealed(fx: &Fixture) -> KeyManager {
    open(&fx.keys, OpenOptions::new().kek_file(&fx.kek))
}

fn v(n: u32) -> Version {
    Version::Number(NonZeroU32::new(n).unwrap())
}

/// Every regular file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.extend(files(&path));
        } else if meta.is_file() {
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_sealed_store_works_like_a_plain_one_and_holds_no_key_in_the_clear() {
    let fx = fixture();
    let km = sealed(&fx);
    let keys: Vec<Vec<u8>> = (1..=4u8).map(|i| vec![i; 32]).collect();
    km.create("api", &keys[0]).unwrap();
    let tag1 = km
        .key("api")
        .unwrap()
        .hmac_tagged(HashAlg::Sha256, b"m")
        .unwrap();
    for key in &keys[1..] {
        km.rotate("api", key).unwrap();
    }
    // The same bytes again: a sealed key file names its version, so even
    // this rotation rewrites it.
    km.store("api", &keys[3]).unwrap();
    let api = km.key("api").unwrap();
    assert_eq!(api.current_version().unwrap().get(), 5);
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            api.at(v(i as u32 + 1)).get().unwrap().as_bytes(),
            key.as_slice()
        );
    }
    api.hmac_verify_tagged(HashAlg::Sha256, b"m", tag1.as_bytes())
        .unwrap();
    km.prune("api", NonZeroU32::new(2).unwrap()).unwrap();
    assert_eq!(km.key("api").unwrap().versions().unwrap().all().len(), 2);
    let stored = files(&fx.keys);
    let key_files: Vec<_> = stored
        .iter()
        .filter(|(p, _)| !p.ends_with(".lock"))
        .collect();
    assert!(key_files.len() >= 2);
    for (path, bytes) in key_files {
        assert!(bytes.starts_with(MAGIC), "{} is not sealed", path.display());
        for key in &keys {
            assert!(
                !contains(bytes, key),
                "{} holds a key in the clear",
                path.display()
            );
        }
    }
}

#[test]
fn every_altered_byte_of_a_sealed_file_is_corrupt_never_a_wrong_key() {
    let fx = fixture();
    let km = sealed(&fx);
    km.create("k", &[0x5a; 32]).unwrap();
    km.rotate("k", &[0xa5; 32]).unwrap();
    let targets = [fx.keys.join("k.key"), fx.keys.join(".versions/k/1")];
    for target in targets {
        let original = fs::read(&target).unwrap();
        for at in 0..original.len() {
            for flip in [0x01u8, 0x80] {
                let mut altered = original.clone();
                altered[at] ^= flip;
                fs::write(&target, &altered).unwrap();
                let read = km
                    .key("k")
                    .unwrap()
                    .at(v(1))
                    .get()
                    .and_then(|_| km.get("k"));
                let err = read.expect_err(&format!(
                    "{} byte {at} ^ {flip:#x} was accepted",
                    target.display()
                ));
                assert_eq!(
                    err.kind(),
                    ErrorKind::Corrupt,
                    "{}: {}",
                    target.display(),
                    err.message()
                );
            }
        }
        fs::write(&target, &original).unwrap();
        assert_eq!(km.get("k").unwrap().as_bytes(), &[0xa5; 32]);
    }
}

#[test]
fn sealed_files_moved_to_another_key_or_version_are_refused() {
    let fx = fixture();
    let km = sealed(&fx);
    km.create("a", &[1; 32]).unwrap();
    km.create("b", &[2; 32]).unwrap();
    km.rotate("b", &[3; 32]).unwrap();
    km.rotate("b", &[4; 32]).unwrap();
    // Another key's file copied over.
    fs::copy(fx.keys.join("a.key"), fx.keys.join("b.key")).unwrap();
    let err = km.get("b").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(
        err.message().contains("sealed for another key"),
        "{}",
        err.message()
    );
    // An old version put back as the current key.
    fs::copy(fx.keys.join(".versions/b/2"), fx.keys.join("b.key")).unwrap();
    let err = km.get("b").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{}", err.message());
    // One version's record under another version's name.
    fs::copy(fx.keys.join(".versions/b/1"), fx.keys.join(".versions/b/2")).unwrap();
    let err = km.key("b").unwrap().at(v(2)).get().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(
        err.message().contains("sealed for another key"),
        "{}",
        err.message()
    );
}

#[test]
fn plain_and_sealed_files_mix_until_sealed_files_are_required() {
    let fx = fixture();
    let plain = open(&fx.keys, OpenOptions::new());
    plain.create("old", b"written before sealing").unwrap();
    plain.rotate("old", b"also plain").unwrap();
    let km = sealed(&fx);
    assert_eq!(km.get("old").unwrap().as_bytes(), b"also plain");
    km.create("new", b"sealed from the start").unwrap();
    assert!(
        fs::read(fx.keys.join("new.key"))
            .unwrap()
            .starts_with(MAGIC)
    );
    let strict = open(
        &fx.keys,
        OpenOptions::new().kek_file(&fx.kek).require_sealed(true),
    );
    assert_eq!(
        strict.get("new").unwrap().as_bytes(),
        b"sealed from the start"
    );
    let err = strict.get("old").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.message().contains("not sealed"), "{}", err.message());
    // seal_all seals in place, keeps every version, and is idempotent.
    assert_eq!(km.seal_all().unwrap(), 2);
    assert_eq!(km.seal_all().unwrap(), 0);
    let old = strict.key("old").unwrap();
    assert_eq!(old.current_version().unwrap().get(), 2);
    assert_eq!(
        old.at(v(1)).get().unwrap().as_bytes(),
        b"written before sealing"
    );
    assert_eq!(old.get().unwrap().as_bytes(), b"also plain");
}

#[test]
fn without_the_kek_keys_are_listed_but_not_read() {
    let fx = fixture();
    let km = sealed(&fx);
    km.create("k", &[7; 32]).unwrap();
    km.rotate("k", &[8; 32]).unwrap();
    let kek_id = {
        let err = open(&fx.keys, OpenOptions::new()).get("k").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
        assert!(
            err.message().contains("no KEK was given"),
            "{}",
            err.message()
        );
        err.message().split("sealed under KEK ").nth(1).unwrap()[..16].to_string()
    };
    let bare = open(&fx.keys, OpenOptions::new());
    assert_eq!(bare.list().unwrap(), ["k"]);
    assert!(bare.exists("k").unwrap());
    assert_eq!(bare.key("k").unwrap().current_version().unwrap().get(), 2);
    assert_eq!(bare.key("k").unwrap().versions().unwrap().all().len(), 2);
    let wrong = open(&fx.keys, OpenOptions::new().kek_file(&fx.other_kek));
    let err = wrong.get("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(
        err.message().contains(&kek_id),
        "names the KEK it needs: {}",
        err.message()
    );
}

#[test]
fn unusable_kek_files_are_refused_at_open() {
    let fx = fixture();
    let dir = fx.kek.parent().unwrap();
    let cases: Vec<(PathBuf, ErrorKind)> = vec![
        (
            write_kek_bytes(dir, "short", &[1; 16], 0o600),
            ErrorKind::InvalidArgument,
        ),
        (
            write_kek_bytes(dir, "long", &[1; 33], 0o600),
            ErrorKind::InvalidArgument,
        ),
        (
            write_kek(dir, "readable", [1; 32], 0o644),
            ErrorKind::InsecurePermissions,
        ),
        (
            write_kek(dir, "group", [1; 32], 0o640),
            ErrorKind::InsecurePermissions,
        ),
        (dir.join("missing"), ErrorKind::Io),
        (
            {
                let link = dir.join("link");
                std::os::unix::fs::symlink(&fx.kek, &link).unwrap();
                link
            },
            ErrorKind::InsecurePermissions,
        ),
    ];
    for (path, kind) in cases {
        let err = KeyManager::open_with(
            &Location::Dir(fx.keys.clone()),
            &OpenOptions::new().kek_file(&path),
        )
        .unwrap_err();
        assert_eq!(err.kind(), kind, "{}: {}", path.display(), err.message());
    }
    // A KEK kept in the key directory it protects.
    fs::create_dir_all(&fx.keys).unwrap();
    let inside = write_kek(&fx.keys, "kek", [3; 32], 0o600);
    let err = KeyManager::open_with(
        &Location::Dir(fx.keys.clone()),
        &OpenOptions::new().kek_file(&inside),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{}", err.message());
}

fn write_kek_bytes(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_rewrap_moves_every_file_to_the_new_kek() {
    let fx = fixture();
    let km = sealed(&fx);
    for id in ["a", "b"] {
        km.create(id, id.as_bytes()).unwrap();
        km.rotate(id, &[id.as_bytes(), b"-2"].concat()).unwrap();
    }
    km.stage("a", b"staged").unwrap();
    let both = open(
        &fx.keys,
        OpenOptions::new()
            .kek_file(&fx.other_kek)
            .previous_kek_file(&fx.kek),
    );
    assert_eq!(both.seal_all().unwrap(), 6);
    assert_eq!(both.seal_all().unwrap(), 0);
    let new = open(
        &fx.keys,
        OpenOptions::new()
            .kek_file(&fx.other_kek)
            .require_sealed(true),
    );
    assert_eq!(new.get("a").unwrap().as_bytes(), b"a-2");
    assert_eq!(
        new.key("b").unwrap().at(v(1)).get().unwrap().as_bytes(),
        b"b"
    );
    assert_eq!(
        new.key("a").unwrap().at(v(3)).get().unwrap().as_bytes(),
        b"staged"
    );
    let err = sealed(&fx).get("a").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{}", err.message());
}

/// Keys whose first bytes are the sealed-file magic, or that magic with one
/// byte altered (what a damaged sealed file looks like).
fn keys_that_read_as_sealed() -> Vec<Vec<u8>> {
    let mut exact = MAGIC.to_vec();
    exact.extend_from_slice(b"\x05 and the rest of a key");
    let mut damaged = exact.clone();
    damaged[3] ^= 0x40;
    vec![MAGIC.to_vec(), exact, damaged]
}

#[test]
fn a_plain_store_refuses_a_key_it_would_read_as_a_sealed_file() {
    let fx = fixture();
    let plain = open(&fx.keys, OpenOptions::new());
    plain.store("k", b"an ordinary key").unwrap();
    plain.stage("k", b"a staged key").unwrap();
    let before = files(&fx.keys);
    for key in keys_that_read_as_sealed() {
        // Written as it is, the key file would be read as a sealed file
        // ever after: refused, changing nothing.
        let refused = [
            plain.store("k", &key).err(),
            plain.rotate("k", &key).err(),
            plain.create("new", &key).err(),
            plain.stage("k", &key).err(),
            plain
                .create_with_versions(
                    "imported",
                    &[
                        (NonZeroU32::new(1).unwrap(), b"first".as_slice()),
                        (NonZeroU32::new(2).unwrap(), key.as_slice()),
                    ],
                    NonZeroU32::new(1).unwrap(),
                )
                .err(),
        ];
        for err in refused {
            let err = err.expect("refused");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
            assert!(err.message().contains("sealed-file magic"), "{err}");
        }
        assert_eq!(files(&fx.keys), before);
        assert_eq!(plain.get("k").unwrap().as_bytes(), b"an ordinary key");
        assert_eq!(plain.list().unwrap(), ["k"]);
    }
    // An older version may hold such bytes: it is never the key file again.
    let odd = &keys_that_read_as_sealed()[1];
    let keep = [
        (NonZeroU32::new(1).unwrap(), odd.as_slice()),
        (NonZeroU32::new(2).unwrap(), b"current".as_slice()),
    ];
    plain
        .create_with_versions("old", &keep, NonZeroU32::new(2).unwrap())
        .unwrap();
    assert_eq!(
        plain.key("old").unwrap().at(v(1)).get().unwrap().as_bytes(),
        keep[0].1
    );
    // A sealed store wraps any key, so it keeps these.
    let km = sealed(&fx);
    for (i, key) in keys_that_read_as_sealed().into_iter().enumerate() {
        let id = format!("sealed-{i}");
        km.store(&id, &key).unwrap();
        assert_eq!(km.get(&id).unwrap().as_bytes(), key);
        let tag = km
            .key(&id)
            .unwrap()
            .hmac_tagged(HashAlg::Sha256, b"m")
            .unwrap();
        let ring = km.load(&id, HashAlg::Sha256, None).unwrap();
        ring.hmac_verify_tagged(b"m", tag.as_bytes()).unwrap();
    }
}
