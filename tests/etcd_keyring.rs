//! Keyrings on etcd: a background thread follows the key's changes through
//! an etcd watch and reloads it, so a rotation made on another host is
//! served without any call asking, and no MAC ever waits on the network,
//! not even while the cluster is down.

mod etcd_support;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Keyring, Version};
use etcd_support::{Cluster, prefix, shared_cluster};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Waits (at most `limit`) until `done` holds, asking nothing of the
/// keyring but what `done` asks; returns how long it took.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

fn version(ring: &Keyring) -> u32 {
    ring.current_version().unwrap()
}

fn n(number: u32) -> NonZeroU32 {
    NonZeroU32::new(number).unwrap()
}

/// Another host's rotation, stage, promotion, prune and delete reach a
/// keyring through the watch, with no refresh call; its tags verify on
/// the other host and the other host's on it.
#[test]
fn a_keyring_follows_another_hosts_changes_through_the_watch() {
    let cluster = shared_cluster();
    let prefix = prefix("keyring-follow");
    let here = cluster.open(&prefix, TIMEOUT);
    let there = cluster.open(&prefix, TIMEOUT);
    here.generate("api", 32).unwrap();
    // A refresh period far longer than the test: only the watch can make
    // the keyring see a change in time.
    let ring = here
        .load("api", HashAlg::Sha256, Some(Duration::from_secs(3600)))
        .unwrap();
    assert!(ring.is_followed(), "an etcd keyring is followed");

    let mut seen = Vec::new();
    there.rotate("api", &[7; 32]).unwrap();
    seen.push(wait_for(TIMEOUT, "rotation", || version(&ring) == 2));
    let tag = ring.hmac_tagged(b"m").unwrap();
    there
        .key("api")
        .unwrap()
        .hmac_verify_tagged(HashAlg::Sha256, b"m", tag.as_bytes())
        .unwrap();
    assert_eq!(
        ring.hmac(b"m").unwrap().as_bytes(),
        there
            .key("api")
            .unwrap()
            .hmac(HashAlg::Sha256, b"m")
            .unwrap()
            .as_bytes()
    );

    let staged = there.stage_generate("api", 32).unwrap();
    let early = there
        .key("api")
        .unwrap()
        .at(Version::Number(staged))
        .hmac_tagged(HashAlg::Sha256, b"m")
        .unwrap();
    seen.push(wait_for(TIMEOUT, "stage", || {
        ring.hmac_verify_tagged(b"m", early.as_bytes()).is_ok()
    }));
    assert_eq!(version(&ring), 2, "a staged version is not used to sign");

    there.promote("api", staged).unwrap();
    seen.push(wait_for(TIMEOUT, "promotion", || version(&ring) == 3));

    there.prune("api", n(1)).unwrap();
    seen.push(wait_for(TIMEOUT, "prune", || {
        ring.hmac_verify_tagged(b"m", tag.as_bytes()).is_err()
    }));
    let err = ring.hmac_verify_tagged(b"m", tag.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerifyFailed);

    there.delete("api").unwrap();
    seen.push(wait_for(TIMEOUT, "delete", || {
        ring.hmac(b"m")
            .is_err_and(|e| e.kind() == ErrorKind::NotFound)
    }));
    there.store("api", &[9; 32]).unwrap();
    seen.push(wait_for(TIMEOUT, "re-creation", || ring.hmac(b"m").is_ok()));
    assert_eq!(
        ring.hmac(b"m").unwrap().as_bytes(),
        codomyrmex_keys::hmac(HashAlg::Sha256, &[9; 32], b"m").as_bytes()
    );
    let slowest = seen.iter().max().unwrap();
    println!(
        "etcd keyring: 6 changes on another host served after {:?} (slowest {slowest:?})",
        seen
    );
}

/// With the whole cluster down, MACs and verifications go on with the
/// last good keys at memory speed, and refresh reports the outage; once
/// the cluster is back, the keyring catches up by itself.
#[test]
fn keyring_calls_never_wait_on_the_network() {
    let cluster = Cluster::start(&[]);
    let prefix = prefix("keyring-outage");
    let timeout = Duration::from_millis(800);
    let km = cluster.open(&prefix, timeout);
    km.generate("api", 32).unwrap();
    let ring = km
        .load("api", HashAlg::Sha256, Some(Duration::from_millis(20)))
        .unwrap();
    let tag = ring.hmac_tagged(b"m").unwrap();
    for member in 1..=3 {
        cluster.member("kill-member", member);
    }

    let mut calls = 0u64;
    let mut slowest = Duration::ZERO;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let call = Instant::now();
        let mac = ring.hmac(b"m").unwrap();
        ring.hmac_verify(b"m", mac.as_bytes()).unwrap();
        ring.hmac_verify_tagged(b"m", tag.as_bytes()).unwrap();
        slowest = slowest.max(call.elapsed());
        calls += 1;
    }
    // The network timeout is 800 ms and the follower thread checks every
    // 20 ms: a call that waited on it even once would show it.
    assert!(
        slowest < Duration::from_millis(100),
        "a call took {slowest:?} while the cluster was down"
    );
    let err = ring.refresh().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    println!(
        "etcd keyring: {calls} rounds of MAC + verify + tagged verify while the cluster was \
         down, slowest round {slowest:?}; refresh said: {}",
        err.message()
    );

    // Each restart waits until its member rejoins, which needs a quorum:
    // all three at once.
    std::thread::scope(|scope| {
        for member in 1..=3 {
            let cluster = &cluster;
            scope.spawn(move || cluster.member("restart-member", member));
        }
    });
    let other = cluster.open(&prefix, TIMEOUT);
    let rotated = Instant::now();
    let deadline = Duration::from_secs(15);
    loop {
        match other.rotate("api", &[5; 32]) {
            Ok(_) => break,
            Err(e) if rotated.elapsed() < deadline => {
                assert_eq!(e.kind(), ErrorKind::Io, "{e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the cluster did not come back: {e}"),
        }
    }
    let caught_up = wait_for(Duration::from_secs(10), "catching up", || {
        version(&ring) == 2
    });
    println!("etcd keyring: after the outage, a rotation was served {caught_up:?} later");
}

/// Without a refresh period there is no follower: only refresh reloads.
#[test]
fn a_keyring_without_a_period_reloads_on_refresh_only() {
    let cluster = shared_cluster();
    let prefix = prefix("keyring-manual");
    let km: KeyManager = cluster.open(&prefix, TIMEOUT);
    km.generate("api", 32).unwrap();
    let ring = km.load("api", HashAlg::Sha384, None).unwrap();
    assert!(!ring.is_followed());
    km.rotate("api", &[3; 48]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(version(&ring), 1);
    assert!(ring.refresh().unwrap(), "refresh reloads");
    assert_eq!(version(&ring), 2);
    assert!(!ring.refresh().unwrap(), "nothing changed since");
}
