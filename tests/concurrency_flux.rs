//! Deletes and creates racing rotations, stores and readers of one key, in
//! threads of this process and child processes (this test binary run
//! again): readers see whole values or no key, each value is returned as a
//! previous key at most once, and the versions since the last delete tell
//! one consistent story.
//!
//! Workloads follow the seed printed at the start (`CODOMYRMEX_SEED`
//! replays one); `CODOMYRMEX_LONG=1` multiplies the number of operations by
//! 10.

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager};
use common::store::{version_bytes, version_list};
use common::team::{
    Children, PROCESSES, Team, WRITER_OPS, assert_no_leftovers, child_setup, pause, print_events,
    run_threads, scale, tag, value_for, versions_of,
};
use common::{Rng, SetOnDrop, child_scenario, tagged_value, test_seed};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

// ---------------------------------------------------------------------------
// Deletes and creates racing rotations, stores and readers.

const FLUX_TEST: &str = "deletes_and_creates_racing_writers_and_readers_expose_only_whole_values";
const FLUX: &str = "flux";

fn flux_writer(km: &KeyManager, who: &str, rng: &mut Rng) -> Vec<String> {
    let mut events = Vec::new();
    for i in 0..WRITER_OPS * scale() {
        let tag = format!("{who}-{i}");
        let value = value_for(rng, &tag);
        match rng.below(100) {
            0..35 => {
                let old = km.rotate(FLUX, &value).unwrap();
                let old = old.map_or_else(|| "none".to_owned(), |o| self::tag(&o, "rotate"));
                events.push(format!("ROT {FLUX} {old} {tag}"));
            }
            35..55 => {
                km.store(FLUX, &value).unwrap();
                events.push(format!("STORE {FLUX} {tag}"));
            }
            55..75 => match km.delete(FLUX) {
                Ok(()) => events.push(format!("DEL {FLUX} ok")),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    events.push(format!("DEL {FLUX} absent"));
                }
                Err(e) => panic!("delete: {e}"),
            },
            _ => match km.create(FLUX, &value) {
                Ok(()) => events.push(format!("CREATE {FLUX} {tag} won")),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    events.push(format!("CREATE {FLUX} {tag} lost"));
                }
                Err(e) => panic!("create: {e}"),
            },
        }
    }
    events
}

fn flux_reader(km: &KeyManager, _who: &str, rng: &mut Rng, stop: &AtomicBool) -> Vec<String> {
    let mut events = Vec::new();
    loop {
        let finished = stop.load(Ordering::SeqCst);
        match rng.below(4) {
            0 => match km.get(FLUX) {
                Ok(value) => events.push(format!("SEEN {FLUX} {}", tag(&value, "get"))),
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "get: {e}"),
            },
            1 => match version_list(km, FLUX) {
                Ok(versions) => {
                    let expected: Vec<u32> = (1..=versions.len() as u32).collect();
                    assert_eq!(versions, expected, "list_versions has a gap");
                    let v = *rng.pick(&versions);
                    match version_bytes(km, FLUX, v) {
                        Ok(value) => {
                            events.push(format!("SEEN {FLUX} {}", tag(&value, "get_version")));
                        }
                        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "get_version: {e}"),
                    }
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "list_versions: {e}"),
            },
            2 => {
                km.exists(FLUX).unwrap();
                let listed = km.list().unwrap();
                assert!(
                    listed.is_empty() || listed == [FLUX],
                    "list shows {listed:?}"
                );
            }
            _ => match km.key(FLUX).unwrap().hmac_tagged(HashAlg::Sha256, b"flux") {
                Ok(mac) => assert!(mac.version() >= 1),
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "hmac_tagged: {e}"),
            },
        }
        if finished {
            return events;
        }
        pause(rng);
    }
}

#[test]
fn deletes_and_creates_racing_writers_and_readers_expose_only_whole_values() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("flux-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let events = run_threads(
            &km,
            &scenario["flux-".len()..],
            &Team {
                writers: 2,
                readers: 1,
                writer: flux_writer,
                reader: flux_reader,
            },
            &mut rng,
            &done,
            None,
        );
        print_events(&events);
        return;
    }
    let started = Instant::now();
    let mut rng = Rng::new(test_seed(FLUX_TEST, 0xf1f1_0002));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    km.store(FLUX, &tagged_value("start", 64)).unwrap();
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("flux-p{p}")).collect();
    let children = Children::start(FLUX_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(false);
    let events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 5,
                    readers: 3,
                    writer: flux_writer,
                    reader: flux_reader,
                },
                &mut Rng::new(rng.next_u64()),
                &done,
                Some(&barrier),
            )
        });
        let done_guard = SetOnDrop(&done);
        children.go();
        let events = children.finish();
        drop(done_guard);
        let mut all = threads.join().unwrap();
        all.extend(events);
        all
    });

    let mut written: BTreeSet<&str> = BTreeSet::from(["start"]);
    let mut lost_creates = BTreeSet::new();
    let mut olds = Vec::new();
    let mut births = 0;
    let mut deletes = 0;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        *counts.entry(parts[0]).or_default() += 1;
        match (parts[0], parts.get(3)) {
            ("ROT", _) => {
                written.insert(parts[3]);
                if parts[2] == "none" {
                    births += 1;
                } else {
                    olds.push(parts[2]);
                }
            }
            ("STORE", _) => {
                written.insert(parts[2]);
            }
            ("CREATE", Some(&"won")) => {
                written.insert(parts[2]);
                births += 1;
            }
            ("CREATE", _) => {
                lost_creates.insert(parts[2]);
            }
            ("DEL", _) if parts[2] == "ok" => deletes += 1,
            ("DEL" | "SEEN", _) => {}
            _ => panic!("unknown event {event:?}"),
        }
    }
    // Each value can be replaced only once, so it is returned at most once.
    let unique: BTreeSet<&str> = olds.iter().copied().collect();
    assert_eq!(
        unique.len(),
        olds.len(),
        "a value was returned as old twice"
    );
    for old in &olds {
        assert!(
            written.contains(old),
            "rotate returned {old}, which no call wrote"
        );
    }
    // The key existed at the start: every birth needs a delete before it.
    assert!(
        births <= deletes,
        "{births} creations of an absent key but only {deletes} deletes"
    );
    for event in &events {
        if let Some(seen) = event.strip_prefix("SEEN flux ") {
            assert!(written.contains(seen), "a reader saw {seen}, never written");
            assert!(!lost_creates.contains(seen), "a reader saw a losing create");
        }
    }
    // The history since the last delete, as the versions tell it.
    if km.exists(FLUX).unwrap() {
        assert_eq!(km.list().unwrap(), [FLUX]);
        let versions = versions_of(&km, FLUX);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        let position: HashMap<&str, usize> =
            tags.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        assert_eq!(position.len(), tags.len(), "a value kept twice");
        for t in &tags {
            assert!(written.contains(t), "version {t} was never written");
            assert!(
                !lost_creates.contains(t),
                "a losing create became a version"
            );
        }
        for event in &events {
            let parts: Vec<&str> = event.split(' ').collect();
            match parts[0] {
                "ROT" if position.contains_key(parts[3]) => {
                    let at = position[parts[3]];
                    if parts[2] == "none" {
                        assert_eq!(at, 0, "rotate of an absent key made version {}", at + 1);
                    } else {
                        assert!(
                            at > 0 && tags[at - 1] == parts[2],
                            "rotate to {} returned {}, but the version before it is {:?}",
                            parts[3],
                            parts[2],
                            at.checked_sub(1).map(|i| tags[i])
                        );
                    }
                }
                "CREATE" if parts[3] == "won" && position.contains_key(parts[2]) => {
                    assert_eq!(position[parts[2]], 0, "a create made a later version");
                }
                _ => {}
            }
        }
    } else {
        assert!(km.list().unwrap().is_empty());
        assert!(deletes > 0);
    }
    assert_no_leftovers(&dir);
    let writes = (5 + PROCESSES * 2) * WRITER_OPS * scale();
    println!(
        "concurrency flux: 8 threads (5 writers, 3 readers) + {PROCESSES} processes x 3 threads (2 writers, 1 reader): {writes} writes {counts:?}, {births} births, {deletes} deletes, in {:.1?}",
        started.elapsed()
    );
}
