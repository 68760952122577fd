//! What every mounted source must do, checked against the keys a layout
//! was made with: every read call answers from those keys, every write
//! call is refused.

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, TAG_OVERHEAD, Version, hkdf_derive, hmac};
use std::num::NonZeroU32;

/// The message of every write refused by a read-only source.
pub const READ_ONLY: &str = "read-only key source";

/// Data the checks authenticate.
pub const DATA: &[u8] = b"data authenticated before and after a rollout";

/// One key an orchestrator publishes: its id and its versions, ascending;
/// the last is current. Older versions are published as `<id>.key.v<N>`.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub id: &'static str,
    pub versions: Vec<(u32, Vec<u8>)>,
}

impl Fixture {
    /// A key whose versions `numbers` hold recognizable bytes.
    pub fn new(id: &'static str, numbers: &[u32], set: &str) -> Fixture {
        let versions = numbers
            .iter()
            .map(|&n| (n, format!("{set}:{id}:v{n}:{:0>24}", n).into_bytes()))
            .collect();
        Fixture { id, versions }
    }

    /// The bytes of the current version.
    pub fn current(&self) -> &[u8] {
        &self.versions.last().unwrap().1
    }

    /// The current version's number, as the source must report it: one
    /// more than the highest older version, 1 when there is none.
    pub fn current_number(&self) -> u32 {
        match self.versions.len() {
            1 => 1,
            n => self.versions[n - 2].0 + 1,
        }
    }

    /// The bytes of version `number`, if the fixture has it.
    pub fn version(&self, number: u32) -> Option<&[u8]> {
        if number == self.current_number() {
            return Some(self.current());
        }
        let older = &self.versions[..self.versions.len() - 1];
        older
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, b)| b.as_slice())
    }

    /// The file names and contents that publish this key.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = vec![(format!("{}.key", self.id), self.current().to_vec())];
        for (n, bytes) in &self.versions[..self.versions.len() - 1] {
            files.push((format!("{}.key.v{n}", self.id), bytes.clone()));
        }
        files
    }

    /// A tagged MAC of `data` made by hand from version `number`'s bytes:
    /// `0x01 || number (big-endian) || HMAC-SHA256`.
    pub fn tag(&self, number: u32, data: &[u8]) -> Vec<u8> {
        let key = self.version(number).expect("the fixture has that version");
        tag_with(number, key, data)
    }
}

/// `0x01 || number || HMAC-SHA256(key, data)`.
pub fn tag_with(number: u32, key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut tag = vec![0x01];
    tag.extend_from_slice(&number.to_be_bytes());
    tag.extend_from_slice(hmac(HashAlg::Sha256, key, data).as_bytes());
    assert_eq!(tag.len(), TAG_OVERHEAD + 32);
    tag
}

/// Every file of `fixtures`, for an orchestrator to publish.
pub fn files_of(fixtures: &[Fixture]) -> Vec<(String, Vec<u8>)> {
    fixtures.iter().flat_map(Fixture::files).collect()
}

/// Asserts that `result` failed with `kind`; returns its message.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(
    result: codomyrmex_keys::Result<T>,
    kind: ErrorKind,
    what: &str,
) -> String {
    match result {
        Ok(value) => panic!("{what}: succeeded ({value:?}), expected {kind:?}"),
        Err(err) => {
            assert_eq!(err.kind(), kind, "{what}: {}", err.message());
            err.message().to_owned()
        }
    }
}

/// Checks every read call against `fixtures` (the whole content of the
/// source) and `absent`, an id it does not have. Returns the number of
/// calls checked.
pub fn check_reads(km: &KeyManager, fixtures: &[Fixture], absent: &str) -> usize {
    let mut calls = 0;
    let mut ids: Vec<&str> = fixtures.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    assert_eq!(km.list().unwrap(), ids, "list shows the ids only");
    calls += 1;
    assert!(!km.exists(absent).unwrap(), "exists({absent})");
    expect_err(km.get(absent), ErrorKind::NotFound, "get of an absent id");
    calls += 2;
    for f in fixtures {
        let key = km.key(f.id).unwrap();
        assert!(km.exists(f.id).unwrap(), "exists({})", f.id);
        assert_eq!(
            km.get(f.id).unwrap().as_bytes(),
            f.current(),
            "get({})",
            f.id
        );
        let current = f.current_number();
        assert_eq!(key.current_version().unwrap().get(), current, "{}", f.id);
        let versions = key.versions().unwrap();
        let expected: Vec<u32> = f.versions[..f.versions.len() - 1]
            .iter()
            .map(|(n, _)| *n)
            .collect();
        let retained: Vec<u32> = versions.retained.iter().map(|v| v.get()).collect();
        assert_eq!(retained, expected, "retained versions of {}", f.id);
        assert!(versions.staged.is_empty());
        calls += 4;
        for n in expected.iter().copied().chain([current]) {
            let bytes = f.version(n).unwrap();
            let at = key.at(Version::Number(NonZeroU32::new(n).unwrap()));
            assert_eq!(at.get().unwrap().as_bytes(), bytes, "{} version {n}", f.id);
            assert_eq!(
                at.hmac(HashAlg::Sha256, DATA).unwrap(),
                hmac(HashAlg::Sha256, bytes, DATA),
                "hmac of {} version {n}",
                f.id
            );
            key.hmac_verify_tagged(HashAlg::Sha256, DATA, &f.tag(n, DATA))
                .unwrap_or_else(|err| panic!("tag of {} v{n}: {}", f.id, err.message()));
            calls += 3;
        }
        assert_eq!(
            key.hmac(HashAlg::Sha256, DATA).unwrap(),
            hmac(HashAlg::Sha256, f.current(), DATA),
            "hmac of {}",
            f.id
        );
        let (mut okm, mut expected_okm) = ([0u8; 42], [0u8; 42]);
        key.derive(HashAlg::Sha256, b"salt", b"info", &mut okm)
            .unwrap();
        hkdf_derive(
            HashAlg::Sha256,
            f.current(),
            b"salt",
            b"info",
            &mut expected_okm,
        )
        .unwrap();
        assert_eq!(okm, expected_okm, "derive({})", f.id);
        let tagged = key.hmac_tagged(HashAlg::Sha256, DATA).unwrap();
        assert_eq!(
            tagged.as_bytes(),
            f.tag(current, DATA),
            "hmac_tagged({})",
            f.id
        );
        calls += 2;
        // Negative controls: a version the source does not have, a version
        // that was never made, a tag with one bit changed.
        let unknown = NonZeroU32::new(current + 1).unwrap();
        expect_err(
            key.at(Version::Number(unknown)).get(),
            ErrorKind::NotFound,
            "a version above the current one",
        );
        let forged = tag_with(current + 1, f.current(), DATA);
        expect_err(
            key.hmac_verify_tagged(HashAlg::Sha256, DATA, &forged),
            ErrorKind::VerifyFailed,
            "a tag naming an unknown version",
        );
        let mut flipped = f.tag(current, DATA);
        *flipped.last_mut().unwrap() ^= 1;
        expect_err(
            key.hmac_verify_tagged(HashAlg::Sha256, DATA, &flipped),
            ErrorKind::VerifyFailed,
            "a tag with a changed bit",
        );
        calls += 3;
    }
    calls
}

/// Checks that every write call on `id` (an existing key) and on a new id
/// fails with `InvalidArgument` saying the source is read-only. The caller
/// checks that nothing changed on disk. Returns the number of calls.
pub fn check_writes_refused(km: &KeyManager, id: &str) -> usize {
    let one = NonZeroU32::new(1).unwrap();
    let key = [7u8; 32];
    let writes: Vec<(&str, codomyrmex_keys::Result<()>)> = vec![
        ("store", km.store(id, &key)),
        ("store (new id)", km.store("brand-new", &key)),
        ("create", km.create("brand-new", &key)),
        ("generate", km.generate("brand-new", 32)),
        ("rotate", km.rotate(id, &key).map(drop)),
        (
            "rotate_if",
            km.rotate_if::<codomyrmex_keys::Error>(id, &key, |_| Ok(()))
                .map(drop),
        ),
        ("delete", km.delete(id)),
        ("delete (absent id)", km.delete("brand-new")),
        ("prune", km.prune(id, one)),
        ("stage", km.stage(id, &key).map(drop)),
        ("stage_generate", km.stage_generate(id, 32).map(drop)),
        ("promote", km.promote(id, one)),
    ];
    let calls = writes.len();
    for (what, result) in writes {
        let message = expect_err(result, ErrorKind::InvalidArgument, what);
        assert!(message.contains(READ_ONLY), "{what}: {message}");
    }
    assert!(km.is_read_only());
    calls
}
