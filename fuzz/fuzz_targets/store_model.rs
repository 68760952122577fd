//! The key store as a state machine, against a model of its contract.
//!
//! Every input runs a sequence of operations on a real `KeyManager` in a
//! fresh directory (under `/dev/shm` when there is one, else the temporary
//! directory; removed afterwards) and on an in-memory model: a map from key
//! id to its kept versions `(number, bytes)`, following API.md §7-§8. After
//! every step the two must give the same result or the same error kind; at
//! the end the whole store is compared with the model, down to the files on
//! disk (every file holds exactly a version the model still keeps).
//!
//! The input is read front to back (missing bytes read as 0): one opcode
//! byte per operation (at most [`MAX_STEPS`]), then its arguments.
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

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, MAX_KEY_LEN, hkdf_derive, hmac};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
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

/// The contract's key store: id -> kept versions, ascending; the last is
/// the current one. Errors come in the order the library checks them: the
/// id, then the other arguments, then the state of the store (except
/// `derive`, which checks the output length before the id).
#[derive(Default)]
struct Model {
    keys: BTreeMap<String, Vec<(u32, Vec<u8>)>>,
}

impl Model {
    fn versions(&self, id: &str) -> Outcome<&Vec<(u32, Vec<u8>)>> {
        check_id(id)?;
        self.keys.get(id).ok_or(ErrorKind::NotFound)
    }

    fn current(&self, id: &str) -> Outcome<&[u8]> {
        Ok(&self
            .versions(id)?
            .last()
            .expect("a kept key has a version")
            .1)
    }

    fn version(&self, id: &str, version: u32) -> Outcome<&[u8]> {
        let versions = self.versions(id)?;
        if version == 0 {
            return self.current(id);
        }
        versions
            .iter()
            .find(|(n, _)| *n == version)
            .map(|(_, bytes)| bytes.as_slice())
            .ok_or(ErrorKind::NotFound)
    }

    /// Store and rotate: the previous current key, if any.
    fn replace(&mut self, id: &str, key: &[u8]) -> Outcome<Option<Vec<u8>>> {
        check_id(id)?;
        check_len(key.len())?;
        match self.keys.get_mut(id) {
            Some(versions) => {
                let (number, previous) = versions.last().expect("a version").clone();
                versions.push((number + 1, key.to_vec()));
                Ok(Some(previous))
            }
            None => {
                self.keys.insert(id.to_owned(), vec![(1, key.to_vec())]);
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
        self.versions(id)?;
        self.keys.remove(id);
        Ok(())
    }

    fn prune(&mut self, id: &str, keep: u32) -> Outcome<()> {
        check_id(id)?;
        if keep == 0 {
            return Err(ErrorKind::InvalidArgument);
        }
        let versions = self.keys.get_mut(id).ok_or(ErrorKind::NotFound)?;
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let drop = versions.len().saturating_sub(keep);
        versions.drain(..drop);
        Ok(())
    }

    fn verify_tagged(&self, id: &str, alg: HashAlg, data: &[u8], tag: &[u8]) -> Outcome<()> {
        self.versions(id)?;
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

/// A tagged MAC made earlier, for later verification.
struct Tag {
    id: &'static str,
    alg: HashAlg,
    data: Vec<u8>,
    bytes: Vec<u8>,
}

struct Run<'a> {
    km: &'a KeyManager,
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
        match r.byte() % 16 {
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
                let expected = self.model.create(id, key.len());
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
                let expected = self
                    .model
                    .versions(id)
                    .map(|v| v.last().expect("a version").0);
                self.expect(kind(km.current_version(id)), expected);
            }
            9 => {
                let (id, version) = (r.id(), r.version());
                self.trace.push(format!("get_version({id:?}, {version})"));
                let expected = self.model.version(id, version).map(<[u8]>::to_vec);
                let actual = kind(km.get_version(id, version)).map(|k| k.to_vec());
                self.expect(actual, expected);
            }
            10 => {
                let id = r.id();
                self.trace.push(format!("list_versions({id:?})"));
                let expected = self
                    .model
                    .versions(id)
                    .map(|v| v.iter().map(|(n, _)| *n).collect::<Vec<_>>());
                self.expect(kind(km.list_versions(id)), expected);
            }
            11 => {
                let (id, keep) = (r.id(), r.keep());
                self.trace.push(format!("prune({id:?}, {keep})"));
                let expected = self.model.prune(id, keep);
                self.expect(kind(km.prune(id, keep)), expected);
            }
            12 => {
                let (id, alg, data) = (r.id(), r.alg(), r.data());
                self.trace
                    .push(format!("hmac_tagged({id:?}, {alg}, {} bytes)", data.len()));
                let expected = self.model.versions(id).map(|versions| {
                    let (number, key) = versions.last().expect("a version");
                    tagged(*number, alg, key, &data)
                });
                let actual = kind(km.hmac_tagged(id, alg, &data)).map(|t| t.as_bytes().to_vec());
                self.expect(actual.clone(), expected);
                // The streaming form, fed in two pieces, makes the same tag.
                let (head, tail) = data.split_at(data.len() / 2);
                let streamed = kind(km.hmac_tagged_stream(id, alg)).map(|mut stream| {
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
            13 => self.verify_tagged(r),
            14 => {
                let (id, alg, data) = (r.id(), r.alg(), r.data());
                self.trace
                    .push(format!("hmac({id:?}, {alg}, {} bytes)", data.len()));
                let expected = self.model.current(id).map(|key| hmac(alg, key, &data));
                let actual = kind(km.hmac(id, alg, &data));
                self.expect(actual, expected);
                if let Ok(mac) = actual {
                    let verified = kind(km.hmac_verify(id, alg, &data, mac.as_bytes()));
                    self.expect(verified, Ok(()));
                }
            }
            _ => {
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
                let actual = kind(km.derive(id, alg, b"salt", b"info", &mut okm)).map(|()| okm);
                self.expect(actual, expected);
            }
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
        let actual = kind(self.km.hmac_verify_tagged(id, alg, &data, &tag));
        self.expect(actual, expected);
        // The streaming form, fed in two pieces, agrees.
        let (head, tail) = data.split_at(data.len() / 3);
        let streamed = kind(self.km.hmac_verify_tagged_stream(id, alg, &tag)).and_then(|mut v| {
            v.update(head);
            v.update(tail);
            kind(v.finish())
        });
        self.expect(streamed, expected);
    }

    /// Compares everything the store can say with the model, and every
    /// file in the key directory with the version it must hold.
    fn check_all(&self, dir: &Path) {
        let km = self.km;
        let ids: Vec<String> = self.model.keys.keys().cloned().collect();
        self.expect(kind(km.list()), Ok(ids));
        for id in IDS.iter().filter(|id| valid_id(id)) {
            let present = self.model.keys.contains_key(*id);
            self.expect(kind(km.exists(id)), Ok(present));
            let Some(versions) = self.model.keys.get(*id) else {
                continue;
            };
            let numbers: Vec<u32> = versions.iter().map(|(n, _)| *n).collect();
            self.expect(kind(km.list_versions(id)), Ok(numbers));
            for (number, bytes) in versions {
                let actual = kind(km.get_version(id, *number)).map(|k| k.to_vec());
                self.expect(actual, Ok(bytes.clone()));
            }
        }
        self.check_files(dir, Path::new(""));
    }

    fn check_files(&self, root: &Path, rel: &Path) {
        let entries = std::fs::read_dir(root.join(rel)).expect("read key directory");
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
                        self.model.keys.contains_key(id),
                        "version directory of a key that does not exist: {rel:?}"
                    ),
                    _ => panic!("unexpected directory {rel:?}"),
                }
                self.check_files(root, &rel);
                continue;
            }
            assert!(meta.is_file(), "{rel:?} is not a regular file");
            assert_eq!(mode, 0o600, "{rel:?}: file mode {mode:o}");
            let content = std::fs::read(root.join(&rel)).expect("read file");
            let expected: &[u8] = match parts[..] {
                [".lock"] => &[],
                [name] => {
                    let id = name.strip_suffix(".key").expect("only key files");
                    self.model.current(id).expect("key file of a kept key")
                }
                [".versions", id, number] => {
                    let number: u32 = number.parse().expect("a version number");
                    assert!(number > 0, "{rel:?}");
                    self.model
                        .version(id, number)
                        .unwrap_or_else(|_| panic!("{rel:?} holds a removed version"))
                }
                _ => panic!("unexpected file {rel:?}"),
            };
            assert!(content == expected, "{rel:?} holds the wrong bytes");
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
        model: Model::default(),
        tags: Vec::new(),
        trace: Vec::new(),
    };
    let mut r = Reader(input);
    while !r.is_empty() && run.trace.len() < MAX_STEPS {
        run.step(&mut r);
    }
    run.check_all(&dir);
    drop(km);
    std::fs::remove_dir_all(&dir).expect("remove the key directory");
});
