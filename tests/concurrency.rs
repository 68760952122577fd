//! Concurrency: threads of this process and child processes (this test
//! binary run again) rotate, store, create and read the same keys and
//! their own keys at once, through separate key managers on one directory.
//! Afterwards the versions on disk must tell one consistent story:
//! rotations form an unbroken chain, every version holds the bytes of the
//! call that made it, numbers run 1, 2, 3, … without gaps or duplicates,
//! readers never saw a partial or foreign value, and a create race has
//! exactly one winner. Deletes in the race are in `concurrency_flux.rs`.
//!
//! Every value describes itself (`common::tagged_value`): its tag names the
//! thread and call that wrote it. Workloads follow the seed printed at the
//! start (`CODOMYRMEX_SEED` replays one); `CODOMYRMEX_LONG=1` multiplies the
//! number of operations by 10.

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, hmac};
use common::store::{current_number, version_bytes, version_list};
use common::team::{
    Children, PROCESSES, Team, WRITER_OPS, assert_no_leftovers, child_setup, pause, print_events,
    run_threads, scale, tag, value_for, versions_of,
};
use common::{Rng, SetOnDrop, child_scenario, tagged_value, test_seed, to_hex};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

// ---------------------------------------------------------------------------
// One chain of versions from many writers.

const CHAIN_TEST: &str = "rotations_and_stores_from_threads_and_processes_keep_one_version_chain";
/// Rotated only: every value but the last is returned exactly once.
const CHAIN: &str = "chain";
/// Rotated and stored over.
const MIXED: &str = "mixed";

fn chain_writer(km: &KeyManager, who: &str, rng: &mut Rng) -> Vec<String> {
    let own = format!("own-{who}");
    let mut events = Vec::new();
    for i in 0..WRITER_OPS * scale() {
        let tag = format!("{who}-{i}");
        let value = value_for(rng, &tag);
        match rng.below(100) {
            0..40 => {
                let old = km.rotate(CHAIN, &value).unwrap().expect("chain exists");
                events.push(format!(
                    "ROT {CHAIN} {} {tag}",
                    self::tag(&old, "rotate chain")
                ));
            }
            40..65 => {
                let old = km.rotate(MIXED, &value).unwrap().expect("mixed exists");
                events.push(format!(
                    "ROT {MIXED} {} {tag}",
                    self::tag(&old, "rotate mixed")
                ));
            }
            65..80 => {
                km.store(MIXED, &value).unwrap();
                events.push(format!("STORE {MIXED} {tag}"));
            }
            _ => {
                // A key of this writer alone: its versions are exactly the
                // writer's calls, in order.
                if rng.chance(50) {
                    km.store(&own, &value).unwrap();
                } else {
                    let old = km.rotate(&own, &value).unwrap();
                    let last = events
                        .iter()
                        .rev()
                        .find_map(|e| e.strip_prefix(&format!("OWN {own} ")));
                    assert_eq!(
                        old.map(|o| self::tag(&o, "rotate own")).as_deref(),
                        last,
                        "rotate of {own} returned the wrong previous key"
                    );
                }
                events.push(format!("OWN {own} {tag}"));
            }
        }
    }
    events
}

fn chain_reader(km: &KeyManager, _who: &str, rng: &mut Rng, stop: &AtomicBool) -> Vec<String> {
    let mut events = Vec::new();
    let mut highest: HashMap<&str, usize> = HashMap::new();
    loop {
        let finished = stop.load(Ordering::SeqCst);
        let key = *rng.pick(&[CHAIN, MIXED]);
        match rng.below(4) {
            0 => {
                let value = km.get(key).unwrap();
                events.push(format!("SEEN {key} {}", tag(&value, "get")));
            }
            1 => {
                let version = current_number(km, key).unwrap();
                // Versions are never removed here: any version once current
                // stays readable.
                let value = version_bytes(km, key, version).unwrap();
                events.push(format!(
                    "VER {key} {version} {}",
                    tag(&value, "get_version")
                ));
            }
            2 => {
                let versions = version_list(km, key).unwrap();
                let expected: Vec<u32> = (1..=versions.len() as u32).collect();
                assert_eq!(versions, expected, "list_versions({key}) has a gap");
                let seen = highest.entry(key).or_default();
                assert!(versions.len() >= *seen, "list_versions({key}) went back");
                *seen = versions.len();
            }
            _ => {
                let alg = *rng.pick(&HashAlg::ALL);
                let mac = km
                    .key(key)
                    .unwrap()
                    .hmac_tagged(alg, b"concurrency")
                    .unwrap();
                events.push(format!(
                    "MAC {key} {} {} {}",
                    mac.version(),
                    alg.name(),
                    to_hex(mac.as_bytes())
                ));
            }
        }
        if finished {
            return events;
        }
        pause(rng);
    }
}

#[test]
fn rotations_and_stores_from_threads_and_processes_keep_one_version_chain() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("chain-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let events = run_threads(
            &km,
            &scenario["chain-".len()..],
            &Team {
                writers: 3,
                readers: 1,
                writer: chain_writer,
                reader: chain_reader,
            },
            &mut rng,
            &done,
            None,
        );
        print_events(&events);
        return;
    }
    let started = Instant::now();
    let mut rng = Rng::new(test_seed(CHAIN_TEST, 0xc0c0_0001));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    for key in [CHAIN, MIXED] {
        km.store(key, &tagged_value(&format!("start-{key}"), 64))
            .unwrap();
    }
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("chain-p{p}")).collect();
    let children = Children::start(CHAIN_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(false);
    let mut events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 6,
                    readers: 2,
                    writer: chain_writer,
                    reader: chain_reader,
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
    events.sort();

    let mut rotations: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    let mut stores: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut own: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut reads = 0;
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        match parts[0] {
            "ROT" => rotations
                .entry(parts[1])
                .or_default()
                .push((parts[2], parts[3])),
            "STORE" => stores.entry(parts[1]).or_default().push(parts[2]),
            "OWN" => own.entry(parts[1]).or_default().push(parts[2]),
            "SEEN" | "VER" | "MAC" => reads += 1,
            _ => panic!("unknown event {event:?}"),
        }
    }
    // Events of one writer were sorted with the rest: restore call order.
    for calls in own.values_mut() {
        calls.sort_by_key(|t| t.rsplit_once('-').unwrap().1.parse::<usize>().unwrap());
    }

    let mut final_versions = HashMap::new();
    for key in [CHAIN, MIXED] {
        let versions = versions_of(&km, key);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        let rots = rotations.get(key).cloned().unwrap_or_default();
        let sts = stores.get(key).cloned().unwrap_or_default();
        assert_eq!(
            tags.len(),
            1 + rots.len() + sts.len(),
            "{key}: one version per rotation and store, no more, no fewer"
        );
        let position: HashMap<&str, usize> =
            tags.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        assert_eq!(position.len(), tags.len(), "{key}: a value kept twice");
        let start = format!("start-{key}");
        assert_eq!(tags[0], start, "{key}: version 1 is the first store");
        let mut written: BTreeSet<&str> = rots.iter().map(|(_, new)| *new).collect();
        written.extend(sts.iter().copied());
        written.insert(&start);
        assert_eq!(
            written,
            tags.iter().copied().collect(),
            "{key}: the versions are exactly the values written"
        );
        for (old, new) in &rots {
            let at = position[new];
            assert!(
                at > 0 && tags[at - 1] == *old,
                "{key}: rotate to {new} (version {}) returned {old}, but version {} is {}",
                at + 1,
                at,
                tags[at.saturating_sub(1)]
            );
        }
        if key == CHAIN {
            // Pure rotations: every value but the last was returned as the
            // old key exactly once; the last never.
            let mut olds: Vec<&str> = rots.iter().map(|(old, _)| *old).collect();
            olds.sort_unstable();
            let mut expected = tags[..tags.len() - 1].to_vec();
            expected.sort_unstable();
            assert_eq!(olds, expected, "chain: old keys returned");
        }
        assert_eq!(
            km.get(key).unwrap().as_bytes(),
            versions.last().unwrap().1.as_slice()
        );
        final_versions.insert(key, versions);
    }
    // What readers saw, checked against the final history.
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        let history = match parts[0] {
            "SEEN" | "VER" | "MAC" => &final_versions[parts[1]],
            _ => continue,
        };
        match parts[0] {
            "SEEN" => assert!(
                history.iter().any(|(t, _)| t == parts[2]),
                "a reader saw {} which is no version of {}",
                parts[2],
                parts[1]
            ),
            "VER" => {
                let v: usize = parts[2].parse().unwrap();
                assert_eq!(history[v - 1].0, parts[3], "version {v} of {}", parts[1]);
            }
            _ => {
                let v: usize = parts[2].parse().unwrap();
                let alg = HashAlg::from_name(parts[3]).unwrap();
                let mac = common::hex(parts[4]);
                assert_eq!(mac[0], 1);
                assert_eq!(
                    &mac[5..],
                    hmac(alg, &history[v - 1].1, b"concurrency").as_bytes(),
                    "a tagged MAC for version {v} of {} was made with another key",
                    parts[1]
                );
                km.key(parts[1])
                    .unwrap()
                    .hmac_verify_tagged(alg, b"concurrency", &mac)
                    .unwrap();
            }
        }
    }
    for (key, calls) in &own {
        let versions = versions_of(&km, key);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            &tags, calls,
            "{key}: versions are its writer's calls in order"
        );
    }
    let writers = 6 + PROCESSES * 3;
    assert_eq!(
        rotations.values().map(Vec::len).sum::<usize>()
            + stores.values().map(Vec::len).sum::<usize>()
            + own.values().map(Vec::len).sum::<usize>(),
        writers * WRITER_OPS * scale(),
        "every write is accounted for"
    );
    assert!(reads > 0);
    assert_no_leftovers(&dir);
    println!(
        "concurrency chain: 8 threads (6 writers, 2 readers) + {PROCESSES} processes x 4 threads (3 writers, 1 reader): {} writes ({} chain rotations, {} mixed rotations, {} mixed stores, {} own-key writes), {reads} checked reads, {} + {} versions, in {:.1?}",
        writers * WRITER_OPS * scale(),
        rotations.get(CHAIN).map_or(0, Vec::len),
        rotations.get(MIXED).map_or(0, Vec::len),
        stores.get(MIXED).map_or(0, Vec::len),
        own.values().map(Vec::len).sum::<usize>(),
        final_versions[CHAIN].len(),
        final_versions[MIXED].len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Create races.

const CREATE_TEST: &str = "create_and_generate_races_have_exactly_one_winner";
const RACE_IDS: usize = 40;
const GENERATED_FROM: usize = 30;

fn racer(km: &KeyManager, who: &str, _rng: &mut Rng) -> Vec<String> {
    let mut events = Vec::new();
    for i in 0..RACE_IDS {
        let id = format!("race-{i}");
        let result = if i < GENERATED_FROM {
            km.create(&id, &tagged_value(&format!("{who}-{i}"), 48))
        } else {
            km.generate(&id, 32)
        };
        match result {
            Ok(()) => events.push(format!("WON {id} {who}-{i}")),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                events.push(format!("LOST {id} {who}-{i}"));
            }
            Err(e) => panic!("create {id}: {e}"),
        }
    }
    events
}

fn no_reader(_: &KeyManager, _: &str, _: &mut Rng, _: &AtomicBool) -> Vec<String> {
    Vec::new()
}

#[test]
fn create_and_generate_races_have_exactly_one_winner() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("race-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let barrier = Barrier::new(2);
        let events = run_threads(
            &km,
            &scenario["race-".len()..],
            &Team {
                writers: 2,
                readers: 0,
                writer: racer,
                reader: no_reader,
            },
            &mut rng,
            &done,
            Some(&barrier),
        );
        print_events(&events);
        return;
    }
    let mut rng = Rng::new(test_seed(CREATE_TEST, 0x7ace_0003));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("race-p{p}")).collect();
    let children = Children::start(CREATE_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(true);
    let events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 8,
                    readers: 0,
                    writer: racer,
                    reader: no_reader,
                },
                &mut Rng::new(rng.next_u64()),
                &done,
                Some(&barrier),
            )
        });
        children.go();
        let mut all = children.finish();
        all.extend(threads.join().unwrap());
        all
    });
    let racers = 8 + PROCESSES * 2;
    let mut winners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut losers: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        match parts[0] {
            "WON" => winners
                .entry(parts[1].to_owned())
                .or_default()
                .push(parts[2].to_owned()),
            "LOST" => *losers.entry(parts[1].to_owned()).or_default() += 1,
            _ => panic!("unknown event {event:?}"),
        }
    }
    let mut ids: Vec<String> = (0..RACE_IDS).map(|i| format!("race-{i}")).collect();
    ids.sort();
    for id in &ids {
        let won = winners.get(id).cloned().unwrap_or_default();
        assert_eq!(won.len(), 1, "{id}: winners {won:?}");
        assert_eq!(losers.get(id).copied(), Some(racers - 1), "{id}: losers");
        let value = km.get(id).unwrap();
        let i: usize = id["race-".len()..].parse().unwrap();
        if i < GENERATED_FROM {
            assert_eq!(tag(&value, id), won[0], "{id} holds the winner's key");
        } else {
            assert_eq!(value.len(), 32);
        }
        assert_eq!(version_list(&km, id).unwrap(), [1], "{id}: one version");
    }
    assert_eq!(km.list().unwrap(), ids);
    assert_no_leftovers(&dir);
    println!(
        "concurrency create races: {racers} racers (8 threads + {PROCESSES} processes x 2 threads) on {RACE_IDS} ids: one winner each"
    );
}
