//! Keyrings against the key manager they were loaded from.
//!
//! Every input runs a sequence of operations on a real `KeyManager` in a
//! fresh directory (under `/dev/shm` when there is one, else the temporary
//! directory; removed afterwards) and on up to three keyrings of its key
//! `k`, one per algorithm, each with `refresh_ms` 0 (so only a refresh
//! changes what it serves):
//!
//! - writes on the store: store, rotate, stage, promote, prune and delete
//!   of `k`, and a store of another key `j`;
//! - on a keyring: load (again), refresh, hmac, hmac_tagged, hmac_verify,
//!   hmac_verify_tagged (of tags made earlier, altered or not, and of
//!   arbitrary bytes), current_version, drop.
//!
//! At every load and refresh the key manager's state of `k` is read (its
//! version numbers and the bytes of each, or its absence): the snapshot the
//! keyring must serve until its next refresh. Checked:
//!
//! - load and refresh succeed exactly when the key exists (else
//!   `NotFound`); a refresh says "changed" whenever the snapshot changed,
//!   and "unchanged" when nothing was written to `k` since the last one;
//! - every answer of the keyring is the snapshot's: the same current
//!   version, the HMAC and tagged MAC of the data under the bytes of its
//!   current version (byte for byte), acceptance of exactly the (tagged)
//!   MACs the snapshot's bytes make, and `NotFound` for everything once a
//!   refresh found the key deleted;
//! - while nothing was written since the keyring's last refresh, the key
//!   manager gives the same answers (same bytes, same accept/reject);
//! - nothing panics.
//!
//! The input is read front to back (missing bytes read as 0): one opcode
//! byte per operation (at most [`MAX_STEPS`]), then its arguments:
//!
//! ```text
//! 0 store k   key        7 refresh      ring          12 current_version ring
//! 1 rotate k  key        8 hmac         ring data     13 drop            ring
//! 2 stage k   key        9 hmac_tagged  ring data     14 store j         key
//! 3 promote k version   10 verify       ring pick change [version|byte]
//! 4 prune k   keep      11 verify_tagged ring pick change [version|byte]
//! 5 delete k                  (pick with bit 7 set, or no MAC or tag
//! 6 load      ring             remembered: data, then a length byte (mod
//!                              72) and that many bytes)
//!
//! ring      byte: mod 3 gives the SHA-256, SHA-384, SHA-512 keyring
//! key       length byte: 0 empty, 255 one byte over the limit, 1-127 a
//!           1-3 byte key from "xyz" (one byte each), 128-254 up to 48
//!           raw bytes
//! data      length byte (mod 64), then that many bytes
//! version   byte: 0-11 itself, 12 u32::MAX, else a u32 (4 bytes, LE)
//! keep      byte: mod 8, 0-4 itself, 5 u32::MAX, else a u32 (4 bytes, LE)
//! change    byte: mod 8, 0-2 none, 3 format byte, 4 version (tags), 5 one
//!           MAC bit (one more byte: which), 6 one byte less, 7 one more
//! ```

#![no_main]

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Keyring, MAX_KEY_LEN, Version, hmac};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Operations per input, at most.
const MAX_STEPS: usize = 48;
/// MACs and tags remembered for later verification, at most.
const MAX_REMEMBERED: usize = 16;
/// The key the keyrings hold, and another one.
const ID: &str = "k";
const OTHER: &str = "j";
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

    fn ring(&mut self) -> usize {
        usize::from(self.byte() % 3)
    }

    fn key(&mut self) -> Vec<u8> {
        match self.byte() {
            0 => Vec::new(),
            255 => vec![0x5a; MAX_KEY_LEN + 1],
            n @ 1..=127 => (0..=n % 3)
                .map(|_| b"xyz"[usize::from(self.byte() % 3)])
                .collect(),
            n => self.take(usize::from(n % 48) + 1).to_vec(),
        }
    }

    fn data(&mut self) -> Vec<u8> {
        let len = usize::from(self.byte() % 64);
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
}

/// What the store held of `k` at a keyring's last load or refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Snapshot {
    /// Every version (kept and staged) with its bytes, and the current one.
    Keys {
        current: u32,
        versions: BTreeMap<u32, Vec<u8>>,
    },
    Deleted,
}

impl Snapshot {
    /// The store's state of `k` now, read through the key manager.
    fn of(km: &KeyManager) -> Snapshot {
        let key = km.key(ID).expect("a valid id");
        let listed = match key.versions() {
            Ok(listed) => listed,
            Err(err) if err.kind() == ErrorKind::NotFound => return Snapshot::Deleted,
            Err(err) => panic!("listing the versions failed: {err}"),
        };
        let versions = listed
            .all()
            .into_iter()
            .map(|n| {
                let bytes = key
                    .at(Version::Number(n))
                    .get()
                    .unwrap_or_else(|err| panic!("reading version {n} failed: {err}"));
                (n.get(), bytes.as_bytes().to_vec())
            })
            .collect();
        Snapshot::Keys {
            current: listed.current.get(),
            versions,
        }
    }

    /// The current version and its bytes; `NotFound` once deleted.
    fn current(&self) -> Outcome<(u32, &[u8])> {
        match self {
            Snapshot::Keys { current, versions } => Ok((*current, &versions[current])),
            Snapshot::Deleted => Err(ErrorKind::NotFound),
        }
    }

    fn hmac(&self, alg: HashAlg, data: &[u8]) -> Outcome<Vec<u8>> {
        let (_, key) = self.current()?;
        Ok(hmac(alg, key, data).as_bytes().to_vec())
    }

    fn tagged(&self, alg: HashAlg, data: &[u8]) -> Outcome<Vec<u8>> {
        let (version, key) = self.current()?;
        Ok(tag_of(alg, version, key, data))
    }

    fn verify(&self, alg: HashAlg, data: &[u8], mac: &[u8]) -> Outcome<()> {
        if self.hmac(alg, data)? == mac {
            Ok(())
        } else {
            Err(ErrorKind::VerifyFailed)
        }
    }

    fn verify_tagged(&self, alg: HashAlg, data: &[u8], tag: &[u8]) -> Outcome<()> {
        let Snapshot::Keys { versions, .. } = self else {
            return Err(ErrorKind::NotFound);
        };
        if tag.len() != TAG_OVERHEAD + alg.digest_len() || tag[0] != 0x01 {
            return Err(ErrorKind::VerifyFailed);
        }
        let version = u32::from_be_bytes([tag[1], tag[2], tag[3], tag[4]]);
        match versions.get(&version) {
            Some(key) if tag_of(alg, version, key, data) == tag => Ok(()),
            _ => Err(ErrorKind::VerifyFailed),
        }
    }
}

fn tag_of(alg: HashAlg, version: u32, key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut tag = vec![0x01];
    tag.extend_from_slice(&version.to_be_bytes());
    tag.extend_from_slice(hmac(alg, key, data).as_bytes());
    tag
}

fn kind<T>(result: codomyrmex_keys::Result<T>) -> Outcome<T> {
    result.map_err(|err| err.kind())
}

/// A keyring with what it must serve.
struct Slot {
    ring: Keyring,
    snapshot: Snapshot,
    /// Nothing was written to `k` since the last load or refresh: the key
    /// manager must answer as the keyring does.
    fresh: bool,
}

/// A MAC or tag made earlier: its data and bytes.
struct Made {
    data: Vec<u8>,
    bytes: Vec<u8>,
}

struct Run<'a> {
    km: &'a KeyManager,
    slots: [Option<Slot>; 3],
    macs: Vec<Made>,
    tags: Vec<Made>,
    trace: Vec<String>,
}

impl Run<'_> {
    fn expect<T: PartialEq + std::fmt::Debug>(&self, actual: Outcome<T>, expected: Outcome<T>) {
        assert_eq!(
            actual,
            expected,
            "step {} diverged; steps so far:\n  {}",
            self.trace.len(),
            self.trace.join("\n  ")
        );
    }

    /// A write to `k` was attempted: every keyring may now be stale.
    fn wrote(&mut self, what: String, result: codomyrmex_keys::Result<()>) {
        self.trace.push(format!("{what} -> {:?}", kind(result)));
        for slot in self.slots.iter_mut().flatten() {
            slot.fresh = false;
        }
    }

    fn step(&mut self, r: &mut Reader<'_>) {
        let km = self.km;
        match r.byte() % 15 {
            0 => {
                let key = r.key();
                let result = km.store(ID, &key);
                self.wrote(format!("store({} bytes)", key.len()), result);
            }
            1 => {
                let key = r.key();
                let result = km.rotate(ID, &key).map(drop);
                self.wrote(format!("rotate({} bytes)", key.len()), result);
            }
            2 => {
                let key = r.key();
                let result = km.stage(ID, &key).map(drop);
                self.wrote(format!("stage({} bytes)", key.len()), result);
            }
            3 => {
                let version = r.version();
                if let Some(number) = NonZeroU32::new(version) {
                    let result = km.promote(ID, number);
                    self.wrote(format!("promote({version})"), result);
                }
            }
            4 => {
                let keep = r.keep();
                if let Some(keep) = NonZeroU32::new(keep) {
                    let result = km.prune(ID, keep);
                    self.wrote(format!("prune({keep})"), result);
                }
            }
            5 => {
                let result = km.delete(ID);
                self.wrote("delete".to_owned(), result);
            }
            6 => self.load(r.ring()),
            7 => self.refresh(r.ring()),
            8 => self.hmac(r),
            9 => self.hmac_tagged(r),
            10 => self.verify(r),
            11 => self.verify_tagged(r),
            12 => {
                let at = r.ring();
                self.trace.push(format!("current_version(ring {at})"));
                if let Some(slot) = &self.slots[at] {
                    let expected = slot.snapshot.current().map(|(v, _)| v);
                    self.expect(kind(slot.ring.current_version()), expected);
                    if slot.fresh {
                        let stored = kind(km.key(ID).unwrap().current_version()).map(|v| v.get());
                        self.expect(stored, expected);
                    }
                }
            }
            13 => {
                let at = r.ring();
                self.trace.push(format!("drop(ring {at})"));
                self.slots[at] = None;
            }
            _ => {
                // Another key: no keyring of `k` changes.
                let key = r.key();
                let result = km.store(OTHER, &key);
                self.trace.push(format!(
                    "store j ({} bytes) -> {:?}",
                    key.len(),
                    kind(result)
                ));
            }
        }
    }

    fn load(&mut self, at: usize) {
        let alg = HashAlg::ALL[at];
        self.trace.push(format!("load(ring {at}, {alg})"));
        let snapshot = Snapshot::of(self.km);
        match (kind(self.km.load(ID, alg, None)), &snapshot) {
            (Ok(ring), Snapshot::Keys { .. }) => {
                self.slots[at] = Some(Slot {
                    ring,
                    snapshot,
                    fresh: true,
                });
            }
            (Err(ErrorKind::NotFound), Snapshot::Deleted) => {}
            (result, _) => panic!(
                "load gave {:?} for {snapshot:?}; steps:\n  {}",
                result.map(drop),
                self.trace.join("\n  ")
            ),
        }
    }

    fn refresh(&mut self, at: usize) {
        self.trace.push(format!("refresh(ring {at})"));
        let snapshot = Snapshot::of(self.km);
        let trace = self.trace.join("\n  ");
        let Some(slot) = &mut self.slots[at] else {
            return;
        };
        let result = kind(slot.ring.refresh());
        match (&result, &snapshot) {
            (Ok(changed), Snapshot::Keys { .. }) => {
                assert!(
                    *changed || snapshot == slot.snapshot,
                    "refresh saw no change from {:?} to {snapshot:?}; steps:\n  {trace}",
                    slot.snapshot
                );
                assert!(
                    !*changed || !slot.fresh,
                    "refresh saw a change with nothing written; steps:\n  {trace}"
                );
            }
            (Err(ErrorKind::NotFound), Snapshot::Deleted) => {}
            _ => panic!("refresh gave {result:?} for {snapshot:?}; steps:\n  {trace}"),
        }
        slot.snapshot = snapshot;
        slot.fresh = true;
    }

    fn hmac(&mut self, r: &mut Reader<'_>) {
        let (at, data) = (r.ring(), r.data());
        self.trace
            .push(format!("hmac(ring {at}, {} bytes)", data.len()));
        let Some(slot) = &self.slots[at] else {
            return;
        };
        let alg = slot.ring.alg();
        let expected = slot.snapshot.hmac(alg, &data);
        let actual = kind(slot.ring.hmac(&data)).map(|mac| mac.as_bytes().to_vec());
        self.expect(actual.clone(), expected);
        if slot.fresh {
            let stored = kind(self.km.key(ID).unwrap().hmac(alg, &data));
            self.expect(stored.map(|mac| mac.as_bytes().to_vec()), actual.clone());
        }
        if let Ok(bytes) = actual {
            remember(&mut self.macs, Made { data, bytes });
        }
    }

    fn hmac_tagged(&mut self, r: &mut Reader<'_>) {
        let (at, data) = (r.ring(), r.data());
        self.trace
            .push(format!("hmac_tagged(ring {at}, {} bytes)", data.len()));
        let Some(slot) = &self.slots[at] else {
            return;
        };
        let alg = slot.ring.alg();
        let expected = slot.snapshot.tagged(alg, &data);
        let actual = kind(slot.ring.hmac_tagged(&data)).map(|tag| tag.as_bytes().to_vec());
        self.expect(actual.clone(), expected);
        if slot.fresh {
            let stored = kind(self.km.key(ID).unwrap().hmac_tagged(alg, &data));
            self.expect(stored.map(|tag| tag.as_bytes().to_vec()), actual.clone());
        }
        if let Ok(bytes) = actual {
            remember(&mut self.tags, Made { data, bytes });
        }
    }

    /// A remembered MAC (or tag), altered or not, or arbitrary bytes; with
    /// its data.
    fn candidate(r: &mut Reader<'_>, made: &[Made], tagged: bool) -> (Vec<u8>, Vec<u8>, u8) {
        let pick = r.byte();
        let change = r.byte() % 8;
        let (data, mut bytes) = match made.get(usize::from(pick % 16)) {
            Some(m) if pick & 0x80 == 0 => (m.data.clone(), m.bytes.clone()),
            _ => {
                let data = r.data();
                let len = usize::from(r.byte() % 72);
                (data, r.take(len).to_vec())
            }
        };
        match change {
            0..=2 => {}
            3 if !bytes.is_empty() => bytes[0] ^= 0x02,
            4 if tagged && bytes.len() >= TAG_OVERHEAD => {
                let version = r.version();
                bytes[1..TAG_OVERHEAD].copy_from_slice(&version.to_be_bytes());
            }
            5 if !bytes.is_empty() => {
                let at = usize::from(r.byte()) % bytes.len();
                bytes[at] ^= 0x01;
            }
            6 => {
                bytes.pop();
            }
            7 => bytes.push(0),
            _ => {}
        }
        (data, bytes, change)
    }

    fn verify(&mut self, r: &mut Reader<'_>) {
        let at = r.ring();
        let (data, mac, change) = Self::candidate(r, &self.macs, false);
        self.trace.push(format!(
            "hmac_verify(ring {at}, {} bytes, MAC of {} bytes, change {change})",
            data.len(),
            mac.len()
        ));
        let Some(slot) = &self.slots[at] else {
            return;
        };
        let alg = slot.ring.alg();
        let expected = slot.snapshot.verify(alg, &data, &mac);
        self.expect(kind(slot.ring.hmac_verify(&data, &mac)), expected);
        if slot.fresh {
            let stored = kind(self.km.key(ID).unwrap().hmac_verify(alg, &data, &mac));
            self.expect(stored, expected);
        }
    }

    fn verify_tagged(&mut self, r: &mut Reader<'_>) {
        let at = r.ring();
        let (data, tag, change) = Self::candidate(r, &self.tags, true);
        self.trace.push(format!(
            "hmac_verify_tagged(ring {at}, {} bytes, tag of {} bytes, change {change})",
            data.len(),
            tag.len()
        ));
        let Some(slot) = &self.slots[at] else {
            return;
        };
        let alg = slot.ring.alg();
        let expected = slot.snapshot.verify_tagged(alg, &data, &tag);
        self.expect(kind(slot.ring.hmac_verify_tagged(&data, &tag)), expected);
        if slot.fresh {
            let stored = kind(
                self.km
                    .key(ID)
                    .unwrap()
                    .hmac_verify_tagged(alg, &data, &tag),
            );
            self.expect(stored, expected);
        }
    }
}

fn remember(list: &mut Vec<Made>, made: Made) {
    if list.len() == MAX_REMEMBERED {
        list.remove(0);
    }
    list.push(made);
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
    base.join(format!(
        "codomyrmex-keys-fuzz-keyring-{}-{run}",
        std::process::id()
    ))
}

fuzz_target!(|input: &[u8]| {
    let dir = scratch_dir();
    let km = KeyManager::open(&dir).expect("open a fresh key directory");
    let mut run = Run {
        km: &km,
        slots: [None, None, None],
        macs: Vec::new(),
        tags: Vec::new(),
        trace: Vec::new(),
    };
    let mut r = Reader(input);
    while !r.is_empty() && run.trace.len() < MAX_STEPS {
        run.step(&mut r);
    }
    drop(run);
    drop(km);
    std::fs::remove_dir_all(&dir).expect("remove the key directory");
});
