//! What every writable key source must do, written once: each function
//! takes an open, empty [`KeyManager`] (or a [`Source`] that can open one
//! with options and show what it stores) and asserts the behaviour of the
//! key store, versions, tagged MACs, staged rotation and sealing. The
//! private directory and etcd run the same functions.

#![allow(dead_code)]

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, OpenOptions, Version, hkdf_derive, hmac};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

/// The kind of error a call failed with; panics if it succeeded.
pub fn kind<T: std::fmt::Debug>(result: codomyrmex_keys::Result<T>) -> ErrorKind {
    result.expect_err("the call should have failed").kind()
}

/// `NonZeroU32` from a literal.
pub fn v(number: u32) -> NonZeroU32 {
    NonZeroU32::new(number).expect("a version number is not 0")
}

/// Store, create, generate, get, exists, list, rotate (the old key
/// returned), delete, HMAC and HKDF with a stored key, and the refusals.
pub fn keys_round_trip(km: &KeyManager) {
    assert_eq!(km.list().unwrap(), Vec::<String>::new());
    assert!(!km.exists("alpha").unwrap());
    let err = km.get("alpha").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("alpha"), "{err}");

    km.store("alpha", b"first alpha key").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"first alpha key");
    assert!(km.exists("alpha").unwrap());
    km.store("alpha", b"second").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"second");

    km.create("beta", b"beta key").unwrap();
    assert_eq!(kind(km.create("beta", b"other")), ErrorKind::AlreadyExists);
    assert_eq!(km.get("beta").unwrap().as_bytes(), b"beta key");

    km.generate("gamma", 32).unwrap();
    let gamma = km.get("gamma").unwrap();
    assert_eq!(gamma.len(), 32);
    assert_eq!(kind(km.generate("gamma", 32)), ErrorKind::AlreadyExists);
    assert_eq!(km.get("gamma").unwrap(), gamma);
    km.generate("delta", 32).unwrap();
    assert_ne!(km.get("delta").unwrap(), gamma);
    assert_eq!(km.list().unwrap(), ["alpha", "beta", "delta", "gamma"]);

    let old = km
        .rotate("alpha", b"third")
        .unwrap()
        .expect("a previous key");
    assert_eq!(old.as_bytes(), b"second");
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"third");
    assert!(km.rotate("epsilon", b"new").unwrap().is_none());
    assert_eq!(km.get("epsilon").unwrap().as_bytes(), b"new");

    let alpha = km.key("alpha").unwrap();
    for alg in HashAlg::ALL {
        let mac = alpha.hmac(alg, b"message").unwrap();
        assert_eq!(mac, hmac(alg, b"third", b"message"));
        alpha.hmac_verify(alg, b"message", mac.as_bytes()).unwrap();
        let wrong = alpha.hmac_verify(alg, b"message!", mac.as_bytes());
        assert_eq!(kind(wrong), ErrorKind::VerifyFailed);
        let mut okm = [0u8; 100];
        alpha.derive(alg, b"salt", b"info", &mut okm).unwrap();
        let mut expected = [0u8; 100];
        hkdf_derive(alg, b"third", b"salt", b"info", &mut expected).unwrap();
        assert_eq!(okm, expected);
        let missing = km.key("missing").unwrap();
        assert_eq!(kind(missing.hmac(alg, b"m")), ErrorKind::NotFound);
    }

    km.delete("beta").unwrap();
    assert!(!km.exists("beta").unwrap());
    assert_eq!(kind(km.get("beta")), ErrorKind::NotFound);
    assert_eq!(kind(km.delete("beta")), ErrorKind::NotFound);
    assert_eq!(km.list().unwrap(), ["alpha", "delta", "epsilon", "gamma"]);
    // A deleted id starts again at version 1, with nothing of the old key.
    km.create("beta", b"reborn").unwrap();
    let versions = km.key("beta").unwrap().versions().unwrap();
    assert_eq!((versions.current, versions.all()), (v(1), vec![v(1)]));

    for bad in ["", "../x", "a/b", ".hidden", "sp ace", &"x".repeat(129)] {
        assert_eq!(
            kind(km.store(bad, b"k")),
            ErrorKind::InvalidKeyId,
            "{bad:?}"
        );
    }
    assert_eq!(kind(km.store("empty", b"")), ErrorKind::InvalidArgument);
    let huge = vec![7u8; codomyrmex_keys::MAX_KEY_LEN + 1];
    assert_eq!(kind(km.store("huge", &huge)), ErrorKind::InvalidArgument);
    let largest = vec![7u8; codomyrmex_keys::MAX_KEY_LEN];
    km.store("largest", &largest).unwrap();
    assert_eq!(km.get("largest").unwrap().as_bytes(), &largest[..]);
    assert!(!km.exists("empty").unwrap() && !km.exists("huge").unwrap());
}

/// Versions kept on rotation, read by number, pruned; tagged MACs that
/// verify across rotations until their version is pruned; a key imported
/// with chosen version numbers.
pub fn versions_and_tagged_macs(km: &KeyManager) {
    let alg = HashAlg::Sha256;
    km.store("api", b"key one").unwrap();
    let api = km.key("api").unwrap();
    let tag1 = api.hmac_tagged(alg, b"data").unwrap();
    assert_eq!(tag1.version(), 1);
    assert_eq!(&tag1.as_bytes()[..5], [1, 0, 0, 0, 1]);
    assert_eq!(
        &tag1.as_bytes()[5..],
        hmac(alg, b"key one", b"data").as_bytes()
    );
    km.rotate("api", b"key two").unwrap();
    let tag2 = api.hmac_tagged(alg, b"data").unwrap();
    km.store("api", b"key three").unwrap();
    let tag3 = api.hmac_tagged(alg, b"data").unwrap();
    assert_eq!((tag2.version(), tag3.version()), (2, 3));

    let versions = api.versions().unwrap();
    assert_eq!(versions.current, v(3));
    assert_eq!(versions.retained, [v(1), v(2)]);
    assert!(versions.staged.is_empty());
    assert_eq!(api.current_version().unwrap(), v(3));
    for (number, bytes) in [(1, &b"key one"[..]), (2, b"key two"), (3, b"key three")] {
        let at = api.at(Version::Number(v(number)));
        assert_eq!(at.get().unwrap().as_bytes(), bytes);
        assert_eq!(at.hmac(alg, b"x").unwrap(), hmac(alg, bytes, b"x"));
    }
    assert_eq!(
        kind(api.at(Version::Number(v(4))).get()),
        ErrorKind::NotFound
    );
    for tag in [&tag1, &tag2, &tag3] {
        api.hmac_verify_tagged(alg, b"data", tag.as_bytes())
            .unwrap();
        let wrong = api.hmac_verify_tagged(alg, b"other", tag.as_bytes());
        assert_eq!(kind(wrong), ErrorKind::VerifyFailed);
    }
    let mut unknown = tag3.as_bytes().to_vec();
    unknown[4] = 9;
    assert_eq!(
        kind(api.hmac_verify_tagged(alg, b"data", &unknown)),
        ErrorKind::VerifyFailed
    );
    unknown[4] = 0;
    assert_eq!(
        kind(api.hmac_verify_tagged(alg, b"data", &unknown)),
        ErrorKind::VerifyFailed
    );
    let missing = km.key("missing").unwrap();
    assert_eq!(
        kind(missing.hmac_verify_tagged(alg, b"data", tag1.as_bytes())),
        ErrorKind::NotFound
    );

    km.prune("api", v(2)).unwrap();
    let versions = api.versions().unwrap();
    assert_eq!((versions.current, versions.retained), (v(3), vec![v(2)]));
    assert_eq!(
        kind(api.at(Version::Number(v(1))).get()),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(api.hmac_verify_tagged(alg, b"data", tag1.as_bytes())),
        ErrorKind::VerifyFailed
    );
    api.hmac_verify_tagged(alg, b"data", tag2.as_bytes())
        .unwrap();
    km.prune("api", v(1)).unwrap();
    assert_eq!(api.versions().unwrap().all(), [v(3)]);
    assert_eq!(kind(km.prune("missing", v(1))), ErrorKind::NotFound);
    km.rotate("api", b"key four").unwrap();
    assert_eq!(api.versions().unwrap().all(), [v(3), v(4)], "numbers go on");

    let imported = [(v(3), &b"three"[..]), (v(7), b"seven"), (v(9), b"nine")];
    km.create_with_versions("imported", &imported, v(7))
        .unwrap();
    let key = km.key("imported").unwrap();
    let versions = key.versions().unwrap();
    assert_eq!(versions.current, v(7));
    assert_eq!(
        (versions.retained, versions.staged),
        (vec![v(3)], vec![v(9)])
    );
    assert_eq!(key.get().unwrap().as_bytes(), b"seven");
    assert_eq!(
        key.at(Version::Number(v(9))).get().unwrap().as_bytes(),
        b"nine"
    );
    let again = km.create_with_versions("imported", &imported, v(7));
    assert_eq!(kind(again), ErrorKind::AlreadyExists);
    km.delete("imported").unwrap();
    assert_eq!(
        kind(key.at(Version::Number(v(3))).get()),
        ErrorKind::NotFound
    );
}

/// Staged versions: listed, readable by number and verifying tagged MACs,
/// never used to make MACs or as the current key until promoted; promote
/// of anything but a staged version is `NotFound`.
pub fn staged_rotation(km: &KeyManager) {
    let alg = HashAlg::Sha384;
    km.store("web", b"web one").unwrap();
    let web = km.key("web").unwrap();
    assert_eq!(kind(km.stage("missing", b"k")), ErrorKind::NotFound);
    let staged = km.stage("web", b"web two").unwrap();
    assert_eq!(staged, v(2));
    let versions = web.versions().unwrap();
    assert_eq!(
        (versions.current, versions.staged.clone()),
        (v(1), vec![v(2)])
    );
    assert_eq!(versions.all(), [v(1), v(2)]);

    assert_eq!(km.get("web").unwrap().as_bytes(), b"web one");
    assert_eq!(web.hmac(alg, b"m").unwrap(), hmac(alg, b"web one", b"m"));
    assert_eq!(web.hmac_tagged(alg, b"m").unwrap().version(), 1);
    let mut okm = [0u8; 32];
    web.derive(alg, b"", b"", &mut okm).unwrap();
    let mut expected = [0u8; 32];
    hkdf_derive(alg, b"web one", b"", b"", &mut expected).unwrap();
    assert_eq!(
        okm, expected,
        "derive uses the current version, not the staged one"
    );

    let at_staged = web.at(Version::Number(staged));
    assert_eq!(at_staged.get().unwrap().as_bytes(), b"web two");
    let early = at_staged.hmac_tagged(alg, b"m").unwrap();
    assert_eq!(early.version(), 2);
    web.hmac_verify_tagged(alg, b"m", early.as_bytes()).unwrap();

    let generated = km.stage_generate("web", 48).unwrap();
    assert_eq!(generated, v(3));
    assert_eq!(web.at(Version::Number(generated)).get().unwrap().len(), 48);
    for not_staged in [v(1), v(9)] {
        assert_eq!(kind(km.promote("web", not_staged)), ErrorKind::NotFound);
    }
    assert_eq!(kind(km.promote("missing", v(2))), ErrorKind::NotFound);

    km.promote("web", staged).unwrap();
    let versions = web.versions().unwrap();
    assert_eq!(versions.current, v(2));
    assert_eq!(
        (versions.retained, versions.staged),
        (vec![v(1)], vec![v(3)])
    );
    assert_eq!(km.get("web").unwrap().as_bytes(), b"web two");
    assert_eq!(
        web.hmac_tagged(alg, b"m").unwrap().as_bytes(),
        early.as_bytes()
    );
    assert_eq!(
        kind(km.promote("web", staged)),
        ErrorKind::NotFound,
        "promoted already"
    );

    // A rotation goes past the staged version: it stays staged (verifying)
    // but can no longer become current, and a prune removes it.
    let old = km.rotate("web", b"web four").unwrap().expect("old key");
    assert_eq!(old.as_bytes(), b"web two");
    let versions = web.versions().unwrap();
    assert_eq!(
        (versions.current, versions.staged.clone()),
        (v(4), vec![v(3)])
    );
    assert_eq!(
        kind(km.promote("web", generated)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(web.current_version().unwrap(), v(4));
    let newer = km.stage("web", b"web five").unwrap();
    km.prune("web", v(1)).unwrap();
    assert_eq!(
        web.versions().unwrap().all(),
        [v(4), newer],
        "newer versions stay"
    );
    km.promote("web", newer).unwrap();
    assert_eq!(km.get("web").unwrap().as_bytes(), b"web five");
}

/// A source that can be opened with options and shows what it stores, for
/// the sealing suite.
pub trait Source {
    /// Opens the source with `options`.
    fn open(&self, options: OpenOptions) -> KeyManager;
    /// Every stored value (file contents, etcd values).
    fn raw_values(&self) -> Vec<Vec<u8>>;
    /// Copies the stored bytes of the current version of `from` over those
    /// of the current version of `to`, as someone with access to the store
    /// (not the library) could.
    fn copy_current(&self, km: &KeyManager, from: &str, to: &str);
}

/// A private KEK file of 32 random bytes in a directory of its own.
pub fn kek_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("kek");
    let mut kek = [0u8; 32];
    codomyrmex_keys::random_bytes(&mut kek).unwrap();
    std::fs::write(&path, kek).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Whether `needle` occurs in any of `values`.
fn appears(values: &[Vec<u8>], needle: &[u8]) -> bool {
    values
        .iter()
        .any(|value| value.windows(needle.len()).any(|w| w == needle))
}

/// With a KEK nothing stored holds a key's bytes; without it keys are
/// listed and their versions known but not read; `seal_all` seals what was
/// written plain; a sealed value copied to another key is refused.
pub fn sealing(source: &dyn Source) {
    let kek_dir = tempfile::tempdir().unwrap();
    let kek = kek_file(kek_dir.path());
    let plain = source.open(OpenOptions::new());
    let plain_key = b"PLAIN-KEY-WRITTEN-BEFORE-SEALING";
    plain.store("legacy", plain_key).unwrap();
    assert!(appears(&source.raw_values(), plain_key), "written plain");

    let sealed = source.open(OpenOptions::new().kek_file(&kek));
    let secrets: [&[u8]; 4] = [
        b"SEALED-ONE-xxxxxxxx",
        b"SEALED-TWO-xxxxxxxx",
        b"SEALED-3-xxxxxxxxxx",
        b"SEALED-STAGED-xxxxx",
    ];
    sealed.store("api", secrets[0]).unwrap();
    sealed.rotate("api", secrets[1]).unwrap();
    sealed.store("web", secrets[2]).unwrap();
    sealed.stage("web", secrets[3]).unwrap();
    assert_eq!(
        sealed.get("legacy").unwrap().as_bytes(),
        plain_key,
        "plain still read"
    );
    assert!(sealed.seal_all().unwrap() >= 1);
    assert_eq!(sealed.seal_all().unwrap(), 0, "all sealed already");
    let stored = source.raw_values();
    for secret in secrets.iter().copied().chain([&plain_key[..]]) {
        assert!(
            !appears(&stored, secret),
            "a key's bytes are stored in the clear"
        );
    }
    let api = sealed.key("api").unwrap();
    assert_eq!(api.get().unwrap().as_bytes(), secrets[1]);
    assert_eq!(
        api.at(Version::Number(v(1))).get().unwrap().as_bytes(),
        secrets[0]
    );
    assert_eq!(sealed.get("legacy").unwrap().as_bytes(), plain_key);

    let without = source.open(OpenOptions::new());
    assert_eq!(without.list().unwrap(), ["api", "legacy", "web"]);
    let versions = without.key("web").unwrap().versions().unwrap();
    assert_eq!((versions.current, versions.staged), (v(1), vec![v(2)]));
    let err = without.get("api").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.message().contains("KEK"), "{err}");

    source.copy_current(&sealed, "api", "web");
    let err = sealed.get("web").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.message().contains("another key"), "{err}");
    assert_eq!(sealed.get("api").unwrap().as_bytes(), secrets[1]);
}

/// The private directory as a [`Source`].
pub struct DirSource(pub PathBuf);

impl Source for DirSource {
    fn open(&self, options: OpenOptions) -> KeyManager {
        let location = codomyrmex_keys::Location::Dir(self.0.clone());
        KeyManager::open_with(&location, &options).unwrap()
    }

    fn raw_values(&self) -> Vec<Vec<u8>> {
        fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(std::fs::read(&path).unwrap());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &mut out);
        out
    }

    fn copy_current(&self, _km: &KeyManager, from: &str, to: &str) {
        let bytes = std::fs::read(self.0.join(format!("{from}.key"))).unwrap();
        std::fs::write(self.0.join(format!("{to}.key")), bytes).unwrap();
    }
}
