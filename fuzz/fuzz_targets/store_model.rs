//! The key store as a state machine, against a model of its contract.
//!
//! Every input runs a sequence of operations on a real `KeyManager` in a
//! fresh directory (under `/dev/shm` when there is one, else the temporary
//! directory; removed afterwards) and on an in-memory model: a map from key
//! id to its kept and staged versions `(number, bytes)`, following API.md
//! §7-§8. After every step the two must give the same result or the same
//! error kind; at the end the whole store is compared with the model, down
//! to the files on disk (every key file and version record holds exactly a
//! version the model still keeps, and every record names the key that
//! replaced it by its digest), then again after the store is reopened.
//!
//! Besides the API, an outside program writes or removes `<id>.key` (as the
//! original module or an operator's `cp` and `rm` do): a key file the
//! library did not write starts a history of its own at version 1, and the
//! records of the key it replaced are never used again (they may stay on
//! disk until the next write of the key; the next open removes those of a
//! key whose file is gone).
//!
//! A key that starts with the sealed-file magic (or with it one byte off)
//! is refused with `InvalidArgument`: written as a plain file it would read
//! back as a sealed one.
//!
//! The input is read front to back (missing bytes read as 0): one opcode
//! byte per operation (at most [`MAX_STEPS`]), then its arguments:
//! operations 0-15 as listed in `make_corpus.py`, 16 stage (id, key),
//! 17 promote (id, version), 18 an outside write of `<id>.key` (id byte,
//! mod 4: valid ids only), 19 an outside removal of it (likewise).
//!
//! ```text
//! id        byte: index into IDS (mod 8; the last four are invalid)
//! key       length byte: 0 empty, 255 one byte over the limit, 254 the
//!           longest key, 1-127 a 1-3 byte key from "xyz" (one byte each,
//!           so equal keys are frequent), 128-253 up to 48 raw bytes
//! alg       byte: mod 3 gives SHA-256, SHA-384, SHA-512
//! data      length byte (mod 32), then that many bytes
//! version   byte: 0-11 itself, 12 u32::MAX, else a u32 (4 bytes, LE)
//! ```

#![no_main]

use codomyrmex_keys::{
    ErrorKind, HashAlg, Key, KeyManager, MAX_KEY_LEN, Version, hkdf_derive, hmac,
};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Operations per input, at most.
const MAX_STEPS: usize = 48;
/// Tagged MACs remembered for later verification, at most.
const MAX_TAGS: usize = 16;

/// The key ids the operations use: four valid (one of them ends in `.key`)
/// and four that break the rule.
const IDS: [&str; 8] = ["a", "b", "key-1", "a.key", "", ".hidden", "../a", "a/b"];

/// Bytes a tagged MAC adds: format byte and big-endian version.
const TAG_OVERHEAD: usize = 5;

/// The first bytes of a version record, and the bytes before its key.
const RECORD_MAGIC: &[u8] = b"\x89CDMXVR\n";
const RECORD_HEADER_LEN: usize = 8 + 1 + 4 + 4 + 32;
/// Domain separation of the digest of a record's successor.
const DIGEST_CONTEXT: &[u8] = b"codomyrmex_keys successor v1\0";

type Outcome<T> = Result<T, ErrorKind>;

/// Reads the fuzz input front to back; past its end every byte is 0.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn id(&mut self) -> &'static str {
        IDS[usize::from(self.byte() % 8)]
    }

    fn key(&mut self) -> Vec<u8> {
        match self.byte() {
            0 => Vec::new(),
            255 => vec![0x5a; MAX_KEY_LEN + 1],
            254 => (0..MAX_KEY_LEN).map(|i| (i % 251) as u8 + 1).collect(),
            n @ 1..=127 => (0..=n % 3)
                .map(|_| b"xyz"[usize::from(self.byte() % 3)])
                .collect(),
            n => self.take(usize::from(n % 48) + 1).to_vec(),
        }
    }

    fn alg(&mut self) -> HashAlg {
        HashAlg::ALL[usize::from(self.byte() % 3)]
    }

    fn data(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte() % 32);
        self.take(len).to_vec()
    }

    fn version(&mut self) -> u32 {
        match self.byte() {
            n @ 0..=11 => u32::from(n),
            12 => u32::MAX,
            _ => self.u32(),
        }
    }

    fn keep(&mut self) -> u32 {
        match self.byte() % 8 {
            n @ 0..=4 => u32::from(n),
            5 => u32::MAX,
            _ => self.u32(),
        }
    }

    fn key_len(&mut self) -> usize {
        match self.byte() {
            0 => 0,
            255 => MAX_KEY_LEN + 1,
            n => usize::from(n % 48) + 1,
        }
    }

    fn okm_len(&mut self, alg: HashAlg) -> usize {
        match self.byte() % 4 {
            0 => 0,
            1 => 1,
            2 => 42,
            _ => 255 * alg.digest_len() + 1,
        }
    }
}

/// The key-id rule, stated independently of the library.
fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn check_len(len: usize) -> Outcome<()> {
    if (1..=MAX_KEY_LEN).contains(&len) {
        Ok(())
    } else {
        Err(ErrorKind::InvalidArgument)
    }
}

/// The first bytes of a sealed file.
const SEAL_MAGIC: &[u8; 8] = b"\x89CDXSEAL";

/// A plain store refuses a key that would read back as a sealed file: one
/// that starts with the sealed-file magic, or with it one byte off.
fn check_plain(key: &[u8]) -> Outcome<()> {
    let differing = key
        .get(..SEAL_MAGIC.len())
        .map(|head| head.iter().zip(SEAL_MAGIC).filter(|(a, b)| a != b).count());
    match differing {
        Some(0 | 1) => Err(ErrorKind::InvalidArgument),
        _ => Ok(()),
    }
}

fn check_id(id: &str) -> Outcome<()> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ErrorKind::InvalidKeyId)
    }
}

fn tagged(version: u32, alg: HashAlg, key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut tag = vec![0x01];
    tag.extend_from_slice(&version.to_be_bytes());
    tag.extend_from_slice(hmac(alg, key, data).as_bytes());
    tag
}

/// The versions of one key: kept ones up to the current one and staged
/// ones, each `(number, bytes)`, ascending.
#[derive(Clone, Debug)]
struct History {
    /// The last is the current version.
    kept: Vec<(u32, Vec<u8>)>,
    staged: Vec<(u32, Vec<u8>)>,
}

impl History {
    fn fresh(key: &[u8]) -> History {
        History {
            kept: vec![(1, key.to_vec())],
            staged: Vec::new(),
        }
    }

    fn current(&self) -> &(u32, Vec<u8>) {
        self.kept.last().expect("a kept key has a version")
    }

    /// The number a new version gets: one past every version, staged ones
    /// included.
    fn next(&self) -> u32 {
        let staged = self.staged.last().map_or(0, |(n, _)| *n);
        self.current().0.max(staged) + 1
    }

    /// The bytes of version `n`, kept or staged.
    fn find(&self, n: u32) -> Option<&[u8]> {
        self.kept
            .iter()
            .chain(&self.staged)
            .find(|(number, _)| *number == n)
            .map(|(_, bytes)| bytes.as_slice())
    }

    /// Every version number, ascending.
    fn numbers(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self
            .kept
            .iter()
            .chain(&self.staged)
            .map(|(n, _)| *n)
            .collect();
        all.sort_unstable();
        all
    }
}

/// The contract's key store. Errors come in the order the library checks
/// them: the id, then the other arguments, then the state of the store.
#[derive(Default)]
struct Model {
    keys: BTreeMap<String, History>,
    /// Keys whose file an outside program replaced or removed: their
    /// version directory may still hold records of the key they had, which
    /// are never used. The next write of the key removes them.
    stale: BTreeSet<String>,
    /// Outside writes so far, so that each writes a key of its own.
    outside_writes: u32,
}

impl Model {
    fn history(&self, id: &str) -> Outcome<&History> {
        check_id(id)?;
        self.keys.get(id).ok_or(ErrorKind::NotFound)
    }

    fn history_mut(&mut self, id: &str) -> Outcome<&mut History> {
        check_id(id)?;
        self.keys.get_mut(id).ok_or(ErrorKind::NotFound)
    }

    fn current(&self, id: &str) -> Outcome<&[u8]> {
        Ok(&self.history(id)?.current().1)
    }

    fn version(&self, id: &str, version: u32) -> Outcome<&[u8]> {
        let history = self.history(id)?;
        match version {
            0 => Ok(&history.current().1),
            n => history.find(n).ok_or(ErrorKind::NotFound),
        }
    }

    /// Store and rotate: the previous current key, if any.
    fn replace(&mut self, id: &str, key: &[u8]) -> Outcome<Option<Vec<u8>>> {
        check_id(id)?;
        check_len(key.len())?;
        check_plain(key)?;
        self.stale.remove(id);
        match self.keys.get_mut(id) {
            Some(history) => {
                let previous = history.current().1.clone();
                let next = history.next();
                history.kept.push((next, key.to_vec()));
                Ok(Some(previous))
            }
            None => {
                self.keys.insert(id.to_owned(), History::fresh(key));
                Ok(None)
            }
        }
    }

    fn create(&mut self, id: &str, len: usize) -> Outcome<()> {
        check_id(id)?;
        check_len(len)?;
        if self.keys.contains_key(id) {
            return Err(ErrorKind::AlreadyExists);
        }
        Ok(())
    }

    fn delete(&mut self, id: &str) -> Outcome<()> {
        self.history(id)?;
        self.keys.remove(id);
        self.stale.remove(id);
        Ok(())
    }

    /// Keeps the newest `keep` versions up to the current one; retained
    /// and staged versions below the current one go oldest first.
    fn prune(&mut self, id: &str, keep: NonZeroU32) -> Outcome<()> {
        let history = self.history_mut(id)?;
        let current = history.current().0;
        let older: Vec<u32> = history
            .numbers()
            .into_iter()
            .filter(|&n| n < current)
            .collect();
        let keep = usize::try_from(keep.get()).unwrap_or(usize::MAX);
        let doomed = &older[..older.len().saturating_sub(keep - 1)];
        history.kept.retain(|(n, _)| !doomed.contains(n));
        history.staged.retain(|(n, _)| !doomed.contains(n));
        Ok(())
    }

    fn stage(&mut self, id: &str, key: &[u8]) -> Outcome<u32> {
        check_id(id)?;
        check_len(key.len())?;
        if !self.keys.contains_key(id) {
            return Err(ErrorKind::NotFound);
        }
        check_plain(key)?;
        let history = self.keys.get_mut(id).ok_or(ErrorKind::NotFound)?;
        let next = history.next();
        history.staged.push((next, key.to_vec()));
        self.stale.remove(id);
        Ok(next)
    }

    fn promote(&mut self, id: &str, version: u32) -> Outcome<()> {
        let history = self.history_mut(id)?;
        let at = history
            .staged
            .iter()
            .position(|(n, _)| *n == version)
            .ok_or(ErrorKind::NotFound)?;
        let promoted = history.staged.remove(at);
        history.kept.push(promoted);
        self.stale.remove(id);
        Ok(())
    }

    /// A key file written by an outside program: a history of its own.
    fn write_outside(&mut self, id: &str, key: &[u8]) {
        self.keys.insert(id.to_owned(), History::fresh(key));
        self.stale.insert(id.to_owned());
    }

    /// A key file removed by an outside program.
    fn remove_outside(&mut self, id: &str) {
        if self.keys.remove(id).is_some() {
            self.stale.insert(id.to_owned());
        }
    }

    fn verify_tagged(&self, id: &str, alg: HashAlg, data: &[u8], tag: &[u8]) -> Outcome<()> {
        self.history(id)?;
        if tag.len() != TAG_OVERHEAD + alg.digest_len() || tag[0] != 0x01 {
            return Err(ErrorKind::VerifyFailed);
        }
        let version = u32::from_be_bytes([tag[1], tag[2], tag[3], tag[4]]);
        if version == 0 {
            return Err(ErrorKind::VerifyFailed);
        }
        let key = self
            .version(id, version)
            .map_err(|_| ErrorKind::VerifyFailed)?;
        if tagged(version, alg, key, data) == tag {
            Ok(())
        } else {
            Err(ErrorKind::VerifyFailed)
        }
    }
}

fn kind<T>(result: codomyrmex_keys::Result<T>) -> Outcome<T> {
    result.map_err(|err| err.kind())
}

/// The key `id` of `km` (the id checked).
fn key<'a>(km: &'a KeyManager, id: &'a str) -> Outcome<Key<'a>> {
    kind(km.key(id))
}

/// The digest a record keeps of the key that replaced it.
fn successor_digest(key: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(DIGEST_CONTEXT);
    hash.update(key);
    hash.finalize().into()
}

/// A key of 100 bytes no other call writes (the API's keys here have 1 to
/// 48 bytes or 65536): what an outside program puts in a key file.
fn outside_key(count: u32) -> Vec<u8> {
    let mut key = format!("written outside the library, #{count}").into_bytes();
    key.resize(100, 0xee);
    key
}

/// A tagged MAC made earlier, for later verification.
struct Tag {
    id: &'static str,
    alg: HashAlg,
    data: Vec<u8>,
    bytes: Vec<u8>,
}

struct Run<'a> {
    km: &'a KeyManager,
    dir: &'a Path,
    model: Model,
    tags: Vec<Tag>,
    trace: Vec<String>,
}

impl Run<'_> {
    fn expect<T: PartialEq + std::fmt::Debug>(&self, actual: Outcome<T>, expected: Outcome<T>) {
        assert_eq!(
            actual,
            expected,
            "step {} diverged from the model; steps so far:\n  {}",
            self.trace.len(),
            self.trace.join("\n  ")
        );
    }

    fn step(&mut self, r: &mut Reader<'_>) {
        let km = self.km;
        match r.byte() % 20 {
            0 => {
                let (id, key) = (r.id(), r.key());
                self.trace
                    .push(format!("store({id:?}, {} bytes)", key.len()));
                let expected = self.model.replace(id, &key).map(drop);
                self.expect(kind(km.store(id, &key)), expected);
            }
            1 => {
                let (id, key) = (r.id(), r.key());
                self.trace
                    .push(format!("create({id:?}, {} bytes)", key.len()));
                let expected = self
                    .model
                    .create(id, key.len())
                    .and_then(|()| check_plain(&key));
                if expected.is_ok() {
                    self.model.replace(id, &key).expect("model create");
                }
                self.expect(kind(km.create(id, &key)), expected);
            }
            2 => {
                let (id, len) = (r.id(), r.key_len());
                self.trace.push(format!("generate({id:?}, {len})"));
                let expected = self.model.create(id, len);
                self.expect(kind(km.generate(id, len)), expected);
                if expected.is_ok() {
                    // The model learns the random bytes from the store.
                    let key = km.get(id).expect("get after generate");
                    assert_eq!(key.len(), len, "generated key length");
                    self.model.replace(id, &key).expect("model generate");
                }
            }
            3 => {
                let id = r.id();
                self.trace.push(format!("get({id:?})"));
                let expected = self.model.current(id).map(<[u8]>::to_vec);
                self.expect(kind(km.get(id)).map(|k| k.to_vec()), expected);
            }
            4 => {
                let id = r.id();
                self.trace.push(format!("delete({id:?})"));
                let expected = self.model.delete(id);
                self.expect(kind(km.delete(id)), expected);
            }
            5 => {
                let (id, key) = (r.id(), r.key());
                self.trace
                    .push(format!("rotate({id:?}, {} bytes)", key.len()));
                let expected = self.model.replace(id, &key);
                let actual = kind(km.rotate(id, &key)).map(|old| old.map(|k| k.to_vec()));
                self.expect(actual, expected);
            }
            6 => {
                self.trace.push("list()".to_owned());
                let expected = Ok(self.model.keys.keys().cloned().collect::<Vec<_>>());
                self.expect(kind(km.list()), expected);
            }
            7 => {
                let id = r.id();
                self.trace.push(format!("exists({id:?})"));
                let expected = check_id(id).map(|()| self.model.keys.contains_key(id));
                self.expect(kind(km.exists(id)), expected);
            }
            8 => {
                let id = r.id();
                self.trace.push(format!("current_version({id:?})"));
                let expected = self.model.history(id).map(|h| h.current().0);
                let actual = key(km, id)
                    .and_then(|k| kind(k.current_version()))
                    .map(NonZeroU32::get);
                self.expect(actual, expected);
            }
            9 => {
                let (id, version) = (r.id(), r.version());
                self.trace.push(format!("get_version({id:?}, {version})"));
                let expected = self.model.version(id, version).map(<[u8]>::to_vec);
                let at = NonZeroU32::new(version).map_or(Version::Current, Version::Number);
                let actual = key(km, id).and_then(|k| kind(k.at(at).get()).map(|b| b.to_vec()));
                self.expect(actual, expected);
            }
            10 => {
                let id = r.id();
                self.trace.push(format!("versions({id:?})"));
                let expected = self.model.history(id).map(History::numbers);
                let actual = key(km, id)
                    .and_then(|k| kind(k.versions()))
                    .map(|v| v.all().into_iter().map(NonZeroU32::get).collect::<Vec<_>>());
                self.expect(actual, expected);
            }
            11 => {
                let (id, keep) = (r.id(), r.keep());
                self.trace.push(format!("prune({id:?}, {keep})"));
                // Keeping none cannot be asked of the safe API.
                if let Some(keep) = NonZeroU32::new(keep) {
                    let expected = self.model.prune(id, keep);
                    self.expect(kind(km.prune(id, keep)), expected);
                }
            }
            12 => self.hmac_tagged(r),
            13 => self.verify_tagged(r),
            14 => {
                let (id, alg, data) = (r.id(), r.alg(), r.data());
                self.trace
                    .push(format!("hmac({id:?}, {alg}, {} bytes)", data.len()));
                let expected = self.model.current(id).map(|key| hmac(alg, key, &data));
                let actual = key(km, id).and_then(|k| kind(k.hmac(alg, &data)));
                self.expect(actual, expected);
                if let Ok(mac) = actual {
                    let verified =
                        key(km, id).and_then(|k| kind(k.hmac_verify(alg, &data, mac.as_bytes())));
                    self.expect(verified, Ok(()));
                }
            }
            15 => {
                let (id, alg) = (r.id(), r.alg());
                let okm_len = r.okm_len(alg);
                self.trace.push(format!("derive({id:?}, {alg}, {okm_len})"));
                // The key id is checked first, then the output length, then
                // the store.
                let max = 255 * alg.digest_len();
                let expected = if let Err(invalid) = check_id(id) {
                    Err(invalid)
                } else if (1..=max).contains(&okm_len) {
                    self.model.current(id).and_then(|key| {
                        let mut okm = vec![0; okm_len];
                        kind(hkdf_derive(alg, key, b"salt", b"info", &mut okm)).map(|()| okm)
                    })
                } else {
                    Err(ErrorKind::InvalidArgument)
                };
                let mut okm = vec![0; okm_len];
                let actual = key(km, id)
                    .and_then(|k| kind(k.derive(alg, b"salt", b"info", &mut okm)))
                    .map(|()| okm);
                self.expect(actual, expected);
            }
            16 => {
                let (id, key) = (r.id(), r.key());
                self.trace
                    .push(format!("stage({id:?}, {} bytes)", key.len()));
                let expected = self.model.stage(id, &key);
                let actual = kind(km.stage(id, &key)).map(NonZeroU32::get);
                self.expect(actual, expected);
            }
            17 => {
                let (id, version) = (r.id(), r.version());
                self.trace.push(format!("promote({id:?}, {version})"));
                // A version staged before a later rotation sits below the
                // current one; promoting it is left to the unit tests.
                let below_current = valid_id(id)
                    && self
                        .model
                        .keys
                        .get(id)
                        .is_some_and(|h| version < h.current().0);
                if let (Some(number), false) = (NonZeroU32::new(version), below_current) {
                    let expected = self.model.promote(id, version);
                    self.expect(kind(km.promote(id, number)), expected);
                }
            }
            18 => {
                let id = IDS[usize::from(r.byte() % 4)];
                self.model.outside_writes += 1;
                let key = outside_key(self.model.outside_writes);
                self.trace.push(format!("outside write of {id}.key"));
                let temp = self.dir.join(format!("{id}.key.outside"));
                std::fs::write(&temp, &key).expect("write a key file");
                std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod a key file");
                std::fs::rename(&temp, self.dir.join(format!("{id}.key")))
                    .expect("rename a key file into place");
                self.model.write_outside(id, &key);
            }
            _ => {
                let id = IDS[usize::from(r.byte() % 4)];
                self.trace.push(format!("outside removal of {id}.key"));
                match std::fs::remove_file(self.dir.join(format!("{id}.key"))) {
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    other => other.expect("remove a key file"),
                }
                self.model.remove_outside(id);
            }
        }
    }

    /// A tagged MAC of the current version, made at once and streamed.
    fn hmac_tagged(&mut self, r: &mut Reader<'_>) {
        let km = self.km;
        let (id, alg, data) = (r.id(), r.alg(), r.data());
        self.trace
            .push(format!("hmac_tagged({id:?}, {alg}, {} bytes)", data.len()));
        let expected = self.model.history(id).map(|history| {
            let (number, key) = history.current();
            tagged(*number, alg, key, &data)
        });
        let actual = key(km, id)
            .and_then(|k| kind(k.hmac_tagged(alg, &data)).map(|t| t.as_bytes().to_vec()));
        self.expect(actual.clone(), expected);
        // The streaming form, fed in two pieces, makes the same tag.
        let (head, tail) = data.split_at(data.len() / 2);
        let streamed = key(km, id)
            .and_then(|k| kind(k.tagged_stream(alg)))
            .map(|mut stream| {
                stream.update(head);
                stream.update(tail);
                stream.finish().as_bytes().to_vec()
            });
        self.expect(streamed, actual.clone());
        if let Ok(bytes) = actual {
            if self.tags.len() == MAX_TAGS {
                self.tags.remove(0);
            }
            self.tags.push(Tag {
                id,
                alg,
                data,
                bytes,
            });
        }
    }

    /// Verifies a remembered tag, as made or altered, under its own id or
    /// another one.
    fn verify_tagged(&mut self, r: &mut Reader<'_>) {
        let pick = r.byte();
        let change = r.byte() % 8;
        let other_id = r.id();
        let (id, alg, data, mut tag) = match self.tags.get(usize::from(pick % 16)) {
            Some(t) if pick & 0x80 == 0 => (t.id, t.alg, t.data.clone(), t.bytes.clone()),
            Some(t) => (other_id, t.alg, t.data.clone(), t.bytes.clone()),
            None => {
                let alg = r.alg();
                let tag = r.take(usize::from(pick % 72)).to_vec();
                (other_id, alg, Vec::new(), tag)
            }
        };
        match change {
            0..=2 => {}
            3 if !tag.is_empty() => tag[0] ^= 0x02,
            4 if tag.len() >= TAG_OVERHEAD => {
                let version = r.version();
                tag[1..TAG_OVERHEAD].copy_from_slice(&version.to_be_bytes());
            }
            5 if tag.len() > TAG_OVERHEAD => {
                let at = TAG_OVERHEAD + usize::from(r.byte()) % (tag.len() - TAG_OVERHEAD);
                tag[at] ^= 0x01;
            }
            6 => {
                tag.pop();
            }
            _ => tag.push(0),
        }
        self.trace.push(format!(
            "hmac_verify_tagged({id:?}, {alg}, {} bytes, tag of {} bytes, change {change})",
            data.len(),
            tag.len()
        ));
        let expected = self.model.verify_tagged(id, alg, &data, &tag);
        let actual = key(self.km, id).and_then(|k| kind(k.hmac_verify_tagged(alg, &data, &tag)));
        self.expect(actual, expected);
        // The streaming form, fed in two pieces, agrees.
        let (head, tail) = data.split_at(data.len() / 3);
        let streamed = key(self.km, id)
            .and_then(|k| kind(k.tagged_verifier(alg, &tag)))
            .and_then(|mut v| {
                v.update(head);
                v.update(tail);
                kind(v.finish())
            });
        self.expect(streamed, expected);
    }

    /// Compares everything the store can say with the model, and every
    /// file in the key directory with the version it must hold.
    fn check_all(&self) {
        let km = self.km;
        let ids: Vec<String> = self.model.keys.keys().cloned().collect();
        self.expect(kind(km.list()), Ok(ids));
        for id in IDS.iter().filter(|id| valid_id(id)) {
            let present = self.model.keys.contains_key(*id);
            self.expect(kind(km.exists(id)), Ok(present));
            let Some(history) = self.model.keys.get(*id) else {
                continue;
            };
            let versions = key(km, id).and_then(|k| kind(k.versions())).map(|v| {
                let numbers =
                    |list: &[NonZeroU32]| list.iter().map(|n| n.get()).collect::<Vec<_>>();
                (v.current.get(), numbers(&v.retained), numbers(&v.staged))
            });
            let kept: Vec<u32> = history.kept.iter().map(|(n, _)| *n).collect();
            let expected = (
                history.current().0,
                kept[..kept.len() - 1].to_vec(),
                history.staged.iter().map(|(n, _)| *n).collect(),
            );
            self.expect(versions, Ok(expected));
            for (number, bytes) in history.kept.iter().chain(&history.staged) {
                let at = Version::Number(NonZeroU32::new(*number).expect("numbers start at 1"));
                let actual = key(km, id).and_then(|k| kind(k.at(at).get()).map(|b| b.to_vec()));
                self.expect(actual, Ok(bytes.clone()));
            }
        }
        self.check_files(Path::new(""));
    }

    fn check_files(&self, rel: &Path) {
        let entries = std::fs::read_dir(self.dir.join(rel)).expect("read key directory");
        for entry in entries {
            let entry = entry.expect("directory entry");
            let rel = rel.join(entry.file_name());
            let meta = entry.metadata().expect("metadata");
            let mode = meta.permissions().mode() & 0o777;
            let parts: Vec<&str> = rel
                .iter()
                .map(|p| p.to_str().expect("names are text"))
                .collect();
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{rel:?}: directory mode {mode:o}");
                match parts[..] {
                    [".versions"] => {}
                    [".versions", id] => assert!(
                        self.model.keys.contains_key(id) || self.model.stale.contains(id),
                        "version directory of a key that does not exist: {rel:?}"
                    ),
                    _ => panic!("unexpected directory {rel:?}"),
                }
                self.check_files(&rel);
                continue;
            }
            assert!(meta.is_file(), "{rel:?} is not a regular file");
            assert_eq!(mode, 0o600, "{rel:?}: file mode {mode:o}");
            let content = std::fs::read(self.dir.join(&rel)).expect("read file");
            match parts[..] {
                [".lock"] => assert!(content.is_empty(), "the lock file holds bytes"),
                [name] => {
                    let id = name.strip_suffix(".key").expect("only key files");
                    let expected = self.model.current(id).expect("key file of a kept key");
                    assert!(content == expected, "{rel:?} holds the wrong bytes");
                }
                [".versions", id, name] => self.check_record(&rel, id, name, &content),
                _ => panic!("unexpected file {rel:?}"),
            }
        }
    }

    /// A record holds a version the model keeps (or, of a key an outside
    /// program replaced, one that is never used) and names the key that
    /// replaced it by its digest.
    fn check_record(&self, rel: &Path, id: &str, name: &str, content: &[u8]) {
        assert!(
            content.len() > RECORD_HEADER_LEN
                && content.starts_with(RECORD_MAGIC)
                && content[8] == 1,
            "{rel:?} is not a record"
        );
        let (number, staged) = match name.strip_suffix(".staged") {
            Some(number) => (number, true),
            None => (name, false),
        };
        let number: u32 = number.parse().expect("a version number");
        let field = |at: usize| u32::from_be_bytes(content[at..at + 4].try_into().unwrap());
        assert!(number > 0, "{rel:?}");
        assert_eq!(field(9), number, "{rel:?} holds another version");
        if self.model.stale.contains(id) {
            return;
        }
        let history = self.model.keys.get(id).expect("records of a kept key");
        let list = if staged {
            &history.staged
        } else {
            &history.kept
        };
        let expected = list
            .iter()
            .find(|(n, _)| *n == number)
            .unwrap_or_else(|| panic!("{rel:?} holds a removed version"));
        assert!(
            content[RECORD_HEADER_LEN..] == expected.1,
            "{rel:?} holds the wrong bytes"
        );
        match field(13) {
            0 => assert!(
                content[17..RECORD_HEADER_LEN].iter().all(|&b| b == 0),
                "{rel:?}: a digest without a successor"
            ),
            next => {
                assert!(next > number, "{rel:?} names successor {next}");
                let successor = history
                    .find(next)
                    .unwrap_or_else(|| panic!("{rel:?} names version {next}, which is gone"));
                assert!(
                    content[17..RECORD_HEADER_LEN] == successor_digest(successor),
                    "{rel:?} names another key as version {next}"
                );
            }
        }
    }
}

static RUNS: AtomicU64 = AtomicU64::new(0);

fn scratch_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    base.join(format!("codomyrmex-keys-fuzz-{}-{run}", std::process::id()))
}

fuzz_target!(|input: &[u8]| {
    let dir = scratch_dir();
    let km = KeyManager::open(&dir).expect("open a fresh key directory");
    let mut run = Run {
        km: &km,
        dir: &dir,
        model: Model::default(),
        tags: Vec::new(),
        trace: Vec::new(),
    };
    let mut r = Reader(input);
    while !r.is_empty() && run.trace.len() < MAX_STEPS {
        run.step(&mut r);
    }
    run.check_all();
    // Reopened, the store says the same; the records of keys whose file an
    // outside program removed are gone.
    let Run {
        mut model, trace, ..
    } = run;
    drop(km);
    let km = KeyManager::open(&dir).expect("reopen the key directory");
    for id in &model.stale {
        if !model.keys.contains_key(id) {
            let records = dir.join(".versions").join(id);
            assert!(!records.exists(), "{records:?} survived the reopen");
        }
    }
    model.stale.retain(|id| model.keys.contains_key(id));
    let run = Run {
        km: &km,
        dir: &dir,
        model,
        tags: Vec::new(),
        trace,
    };
    run.check_all();
    drop(km);
    std::fs::remove_dir_all(&dir).expect("remove the key directory");
});
