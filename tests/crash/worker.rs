//! The worker: runs stores, rotations, re-stores, prunes, creates and
//! deletes in a loop, each announced in the journal before the call and
//! its result after it, until it is killed.

use crate::common::{Rng, parse_tagged_value, tagged_value};
use crate::*;
use codomyrmex_keys::{ErrorKind, KeyManager};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The worker.

/// Appends lines to the journal, each flushed to disk before the call it
/// announces.
pub(crate) struct Journal(File);

impl Journal {
    fn line(&mut self, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        // One write per line: a kill leaves at most the last line torn.
        self.0.write_all(&bytes).expect("journal write");
        self.0.sync_all().expect("journal fsync");
    }

    /// Records a failed self-check and ends the worker; the parent reports it.
    fn fail(&mut self, why: &str) -> ! {
        self.line(&format!("X {}", why.replace('\n', " | ")));
        std::process::exit(3);
    }
}

pub(crate) fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("{name} is set")))
}

pub(crate) fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is set"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

/// The worker loop: runs until killed (or, should the parent vanish, until
/// the kernel kills it with the parent).
pub(crate) fn worker() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let dir = env_path(DIR_ENV);
    let mut journal = Journal(
        OpenOptions::new()
            .append(true)
            .open(env_path(JOURNAL_ENV))
            .expect("the journal exists"),
    );
    let mut rng = Rng::new(env_u64(WORKER_SEED_ENV));
    let mut seq = env_u64(FIRST_SEQ_ENV);
    let km = KeyManager::open(&dir).unwrap_or_else(|e| journal.fail(&format!("open: {e}")));

    // What each key holds now, as read back: its bytes (for re-storing).
    let mut current: Vec<Option<Vec<u8>>> = SPECS
        .iter()
        .map(|s| match km.get(s.id) {
            Ok(bytes) => {
                if let Err(why) = parse_tagged_value(&bytes) {
                    journal.fail(&format!("startup read of {}: {why}", s.id));
                }
                Some(bytes.to_vec())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => journal.fail(&format!("startup read of {}: {e}", s.id)),
        })
        .collect();
    journal.line(&format!("R {seq}"));
    println!("{READY}");
    std::io::stdout().flush().unwrap();

    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let k = rng.below(SPECS.len() as u64) as usize;
        let s = &SPECS[k];
        let exists = current[k].is_some();
        let roll = rng.below(100);
        let op = match (exists, s.cycles) {
            (false, true) => match roll {
                0..50 => "create",
                50..80 => "store",
                _ => "rotate",
            },
            (false, false) => {
                if roll < 50 {
                    "store"
                } else {
                    "rotate"
                }
            }
            (true, true) => match roll {
                0..45 => "rotate",
                45..65 => "store",
                65..75 => "restore",
                75..95 => "delete",
                _ => "create",
            },
            (true, false) => match roll {
                0..45 => "rotate",
                45..75 => "store",
                75..85 => "restore",
                _ if s.prune => "prune",
                _ => "rotate",
            },
        };
        let tag = tag_of(s.id, seq);
        let (arg, value) = match op {
            "store" | "rotate" | "create" => {
                let len = value_len(&mut rng, s.sizes, &tag);
                (len as u64, Some(tagged_value(&tag, len)))
            }
            "restore" => {
                let bytes = current[k].clone().expect("restore of an existing key");
                let old_tag = parse_tagged_value(&bytes).expect("checked when read");
                let (_, old_seq) = old_tag.rsplit_once('.').expect("tag is id.seq");
                (old_seq.parse().expect("seq"), Some(bytes))
            }
            "prune" => (rng.between(1, 4), None),
            _ => (0, None),
        };
        journal.line(&format!("B {seq} {op} {} {arg}", s.id));
        let outcome: Result<String, codomyrmex_keys::Error> = match op {
            "store" | "restore" => km.store(s.id, value.as_ref().unwrap()).map(|()| "-".into()),
            "create" => km
                .create(s.id, value.as_ref().unwrap())
                .map(|()| "-".into()),
            "rotate" => km.rotate(s.id, value.as_ref().unwrap()).map(|old| {
                if old.as_deref() != current[k].as_deref() {
                    journal.fail(&format!(
                        "rotate of {} returned {:?}, expected {:?}",
                        s.id,
                        old.as_deref().map(parse_tagged_value),
                        current[k].as_deref().map(parse_tagged_value)
                    ));
                }
                old.map_or_else(
                    || "none".into(),
                    |old| parse_tagged_value(&old).expect("checked above"),
                )
            }),
            "delete" => km.delete(s.id).map(|()| "-".into()),
            "prune" => km
                .prune(s.id, NonZeroU32::new(u32::try_from(arg).unwrap()).unwrap())
                .map(|()| "-".into()),
            _ => unreachable!(),
        };
        match outcome {
            Ok(info) => {
                journal.line(&format!("E {seq} ok {info}"));
                match op {
                    "store" | "restore" | "create" | "rotate" => current[k] = value,
                    "delete" => current[k] = None,
                    _ => {}
                }
            }
            Err(e) if op == "create" && exists && e.kind() == ErrorKind::AlreadyExists => {
                journal.line(&format!("E {seq} err AlreadyExists"));
            }
            Err(e) => journal.fail(&format!("{op} {} (seq {seq}): {e:?}", s.id)),
        }
        // Spot checks from this side: the key reads back as just written.
        if rng.chance(20) {
            let read = km.get(s.id).map(|b| b.to_vec());
            match (&read, &current[k]) {
                (Ok(got), Some(want)) if got == want => {}
                (Err(e), None) if e.kind() == ErrorKind::NotFound => {}
                _ => journal.fail(&format!(
                    "read-back of {} after {op}: {:?}",
                    s.id,
                    read.map(|b| parse_tagged_value(&b))
                )),
            }
        }
        seq += 1;
    }
    journal.fail("ran for 60 s without being killed");
}
