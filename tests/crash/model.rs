//! The parent's model of the directory, built by replaying the journal,
//! and the decision whether the call a kill interrupted took effect.

use crate::common::store::{current_number, version_list};
use crate::common::tagged_value;
use crate::*;
use codomyrmex_keys::KeyManager;
use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

// ---------------------------------------------------------------------------
// The parent's model of the directory.

/// What the journal says a key must hold: versions `first ..= cur`, each
/// the value written by the call with that sequence number.
#[derive(Debug, Clone)]
pub(crate) struct KeyModel {
    pub(crate) exists: bool,
    pub(crate) first: u32,
    pub(crate) seqs: Vec<u64>,
    /// The highest version checked with get_version so far.
    pub(crate) verified: u32,
}

impl KeyModel {
    pub(crate) fn absent() -> KeyModel {
        KeyModel {
            exists: false,
            first: 1,
            seqs: Vec::new(),
            verified: 0,
        }
    }

    pub(crate) fn cur(&self) -> u32 {
        assert!(self.exists && !self.seqs.is_empty());
        self.first + self.seqs.len() as u32 - 1
    }

    pub(crate) fn cur_seq(&self) -> u64 {
        *self.seqs.last().expect("an existing key has a version")
    }

    /// A new current version holding the value of call `seq`.
    pub(crate) fn push(&mut self, seq: u64) {
        if !self.exists {
            *self = KeyModel::absent();
            self.exists = true;
        }
        self.seqs.push(seq);
    }

    /// Forgets the versions below `lowest`.
    pub(crate) fn drop_below(&mut self, lowest: u32) {
        assert!(lowest >= self.first && lowest <= self.cur());
        self.seqs.drain(..(lowest - self.first) as usize);
        self.first = lowest;
    }

    /// The lowest version left by a complete `prune(keep)`.
    pub(crate) fn prune_floor(&self, keep: u32) -> u32 {
        self.cur().saturating_sub(keep - 1).max(self.first)
    }
}

/// A call the journal announced.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) seq: u64,
    pub(crate) op: String,
    pub(crate) id: String,
    pub(crate) arg: u64,
}

#[derive(Default, Debug)]
pub(crate) struct Stats {
    pub(crate) kills: usize,
    pub(crate) kills_before_ready: usize,
    pub(crate) calls_completed: usize,
    /// Calls a kill interrupted, by operation: (took effect, did not).
    pub(crate) interrupted: BTreeMap<String, (usize, usize)>,
    pub(crate) key_temp_files_left: usize,
    pub(crate) record_temp_files_left: usize,
    pub(crate) records_left_by_interrupted_delete: usize,
    pub(crate) most_versions: usize,
}

pub(crate) struct Model {
    pub(crate) keys: BTreeMap<&'static str, KeyModel>,
    /// Length of the value of each call that wrote one.
    pub(crate) lens: HashMap<u64, usize>,
    pub(crate) next_seq: u64,
    pub(crate) stats: Stats,
}

impl Model {
    pub(crate) fn value(&self, id: &str, seq: u64) -> Vec<u8> {
        tagged_value(&tag_of(id, seq), self.lens[&seq])
    }

    pub(crate) fn key(&mut self, id: &str) -> &mut KeyModel {
        self.keys.get_mut(spec(id).id).expect("known id")
    }

    /// Applies a call that completed (or, when resolving an interrupted
    /// call, that took effect).
    pub(crate) fn apply(&mut self, call: &Call) {
        let key = self.key(&call.id);
        match call.op.as_str() {
            "store" | "rotate" => key.push(call.seq),
            "restore" => {
                assert_eq!(
                    key.cur_seq(),
                    call.arg,
                    "restore of {} re-stored a value that was not current",
                    call.id
                );
                key.push(call.arg);
            }
            "create" => {
                assert!(!key.exists, "create of {} succeeded over a key", call.id);
                key.push(call.seq);
            }
            "delete" => *key = KeyModel::absent(),
            "prune" => {
                let floor = key.prune_floor(u32::try_from(call.arg).unwrap());
                key.drop_below(floor);
            }
            other => panic!("unknown operation {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The parent.

/// Everything a failure message needs to replay the run.
pub(crate) struct Context {
    pub(crate) seed: u64,
    pub(crate) round: usize,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[seed {:#x}, after kill {}; replay with {}={:#x}]",
            self.seed,
            self.round,
            common::SEED_ENV,
            self.seed
        )
    }
}

pub(crate) fn parse_call(line: &str, ctx: &Context) -> Call {
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 5, "malformed journal line {line:?} {ctx}");
    Call {
        seq: parts[1].parse().expect("seq"),
        op: parts[2].to_owned(),
        id: parts[3].to_owned(),
        arg: parts[4].parse().expect("arg"),
    }
}

/// Reads the journal lines added since `offset`, applies the completed
/// calls to the model and returns the interrupted one, if any. A torn last
/// line (the kill hit the journal write) is cut off, so the next worker
/// appends after a whole line.
pub(crate) fn replay_journal(
    path: &Path,
    offset: &mut u64,
    model: &mut Model,
    ctx: &Context,
) -> Option<Call> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut text = Vec::new();
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(*offset)).unwrap();
    file.read_to_end(&mut text).unwrap();
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < text.len() {
        file.set_len(*offset + whole as u64).unwrap();
    }
    *offset += whole as u64;
    let text = std::str::from_utf8(&text[..whole]).expect("the journal is text");
    let mut pending: Option<Call> = None;
    for line in text.lines() {
        let kind = line.split(' ').next().unwrap_or("");
        match kind {
            "R" => assert!(pending.is_none(), "a call left open before a restart {ctx}"),
            "X" => panic!("the worker's own check failed: {line} {ctx}"),
            "B" => {
                assert!(pending.is_none(), "two calls open at once: {line} {ctx}");
                let call = parse_call(line, ctx);
                if matches!(call.op.as_str(), "store" | "rotate" | "create") {
                    model.lens.insert(call.seq, call.arg as usize);
                }
                model.next_seq = model.next_seq.max(call.seq + 1);
                pending = Some(call);
            }
            "E" => {
                let call = pending
                    .take()
                    .unwrap_or_else(|| panic!("{line} without B {ctx}"));
                let mut parts = line.splitn(4, ' ');
                let (_, seq, result) = (parts.next(), parts.next(), parts.next());
                let info = parts.next().unwrap_or("");
                assert_eq!(seq, Some(call.seq.to_string().as_str()), "{line} {ctx}");
                match result {
                    Some("ok") => {
                        if call.op == "rotate" {
                            let key = &model.keys[spec(&call.id).id];
                            let expected = if key.exists {
                                tag_of(&call.id, key.cur_seq())
                            } else {
                                "none".to_owned()
                            };
                            assert_eq!(
                                info, expected,
                                "rotate (seq {}) returned the wrong previous key {ctx}",
                                call.seq
                            );
                        }
                        model.apply(&call);
                    }
                    Some("err") => {
                        assert!(
                            call.op == "create"
                                && info == "AlreadyExists"
                                && model.keys[spec(&call.id).id].exists,
                            "unexpected failure {line} for {call:?} {ctx}"
                        );
                    }
                    _ => panic!("malformed journal line {line:?} {ctx}"),
                }
                model.stats.calls_completed += 1;
            }
            _ => panic!("malformed journal line {line:?} {ctx}"),
        }
    }
    pending
}

/// Decides from the directory whether the interrupted `call` took effect,
/// and updates the model; both outcomes are fine, anything else fails.
pub(crate) fn resolve_interrupted(km: &KeyManager, model: &mut Model, call: &Call, ctx: &Context) {
    let before = model.keys[spec(&call.id).id].clone();
    let exists = km
        .exists(&call.id)
        .unwrap_or_else(|e| panic!("exists({}) after a kill: {e} {ctx}", call.id));
    let took_effect = match call.op.as_str() {
        "store" | "rotate" | "restore" if before.exists => {
            let version = current_number(km, &call.id)
                .unwrap_or_else(|e| panic!("current_version({}) after a kill: {e} {ctx}", call.id));
            assert!(
                version == before.cur() || version == before.cur() + 1,
                "{} interrupted at version {}: now version {version} {ctx}",
                call.op,
                before.cur()
            );
            version == before.cur() + 1
        }
        "store" | "rotate" | "create" if !before.exists => exists,
        "create" => false,
        "delete" => !exists,
        "prune" => {
            let versions = version_list(km, &call.id)
                .unwrap_or_else(|e| panic!("list_versions({}) after a kill: {e} {ctx}", call.id));
            let lowest = versions[0];
            let floor = before.prune_floor(u32::try_from(call.arg).unwrap());
            assert!(
                (before.first..=floor).contains(&lowest),
                "prune(keep {}) of versions {}..={} interrupted: lowest left is {lowest} {ctx}",
                call.arg,
                before.first,
                before.cur()
            );
            model.key(&call.id).drop_below(lowest);
            lowest == floor
        }
        other => panic!("unknown operation {other:?} {ctx}"),
    };
    if took_effect && call.op != "prune" {
        model.apply(call);
    }
    let entry = model.stats.interrupted.entry(call.op.clone()).or_default();
    if took_effect {
        entry.0 += 1;
    } else {
        entry.1 += 1;
    }
}
