//! Keyrings against a scripted key source and the one-shot HMAC.

use super::*;
use crate::hmac::hmac;
use crate::secret::SecretBytes;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};

/// The key bytes of `version` in these tests.
fn key_of(version: u32) -> Vec<u8> {
    (0..32u32)
        .map(|i| (version.wrapping_mul(131) ^ i.wrapping_mul(7) ^ 0x5a) as u8)
        .collect()
}

/// What the scripted source reports.
struct Script {
    /// `None`: the key is deleted.
    versions: Option<(u32, Vec<u32>)>,
    generation: u64,
    /// Loads fail with this kind while set.
    failing_load: Option<ErrorKind>,
}

/// A key source whose state a test changes at will, counting its calls.
pub(super) struct Fake {
    script: Mutex<Script>,
    loads: AtomicUsize,
    marker_reads: AtomicUsize,
}

impl Fake {
    pub(super) fn new(current: u32, versions: &[u32]) -> Arc<Fake> {
        Arc::new(Fake {
            script: Mutex::new(Script {
                versions: Some((current, versions.to_vec())),
                generation: 1,
                failing_load: None,
            }),
            loads: AtomicUsize::new(0),
            marker_reads: AtomicUsize::new(0),
        })
    }

    fn edit(&self, change: impl FnOnce(&mut Script)) {
        let mut script = self.script.lock().unwrap();
        change(&mut script);
        script.generation += 1;
    }

    /// Makes `current` current, keeping `versions`.
    pub(super) fn rotate(&self, current: u32, versions: &[u32]) {
        self.edit(|s| s.versions = Some((current, versions.to_vec())));
    }

    fn delete(&self) {
        self.edit(|s| s.versions = None);
    }

    fn fail_loads(&self, kind: Option<ErrorKind>) {
        self.script.lock().unwrap().failing_load = kind;
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

/// The source a keyring owns: a handle on a shared [`Fake`].
pub(super) struct Handle(pub(super) Arc<Fake>);

impl KeySource for Handle {
    fn change_marker(&self) -> Result<Marker> {
        self.0.marker_reads.fetch_add(1, Ordering::SeqCst);
        let script = self.0.script.lock().unwrap();
        match script.versions {
            Some(_) => Ok(Marker([script.generation, 0, 0, 0])),
            None => Err(Error::new(ErrorKind::NotFound, "no key")),
        }
    }

    fn load(&self) -> Result<LoadedKey> {
        self.0.loads.fetch_add(1, Ordering::SeqCst);
        let script = self.0.script.lock().unwrap();
        if let Some(kind) = script.failing_load {
            return Err(Error::new(kind, "scripted failure"));
        }
        let (current, versions) = script
            .versions
            .clone()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no key"))?;
        let versions = versions
            .into_iter()
            .map(|v| (v, SecretBytes::from_slice(&key_of(v))))
            .collect();
        Ok(LoadedKey { current, versions })
    }
}

fn keyring(fake: &Arc<Fake>, alg: HashAlg, refresh_ms: u32) -> Keyring {
    Keyring::new(Box::new(Handle(Arc::clone(fake))), alg, refresh_ms).unwrap()
}

#[test]
fn macs_are_the_one_shot_hmac_of_the_current_version() {
    for alg in HashAlg::ALL {
        let fake = Fake::new(2, &[3, 1, 2]);
        let ring = keyring(&fake, alg, 0);
        assert_eq!(ring.current_version().unwrap(), 2);
        let mac = ring.hmac(b"data").unwrap();
        assert_eq!(mac, hmac(alg, &key_of(2), b"data"));
        ring.hmac_verify(b"data", mac.as_bytes()).unwrap();
        let tag = ring.hmac_tagged(b"data").unwrap();
        assert_eq!(tag.version(), 2);
        assert_eq!(&tag.as_bytes()[..5], &[1, 0, 0, 0, 2]);
        assert_eq!(&tag.as_bytes()[5..], mac.as_bytes());
        ring.hmac_verify_tagged(b"data", tag.as_bytes()).unwrap();
        // A staged version (above the current one) verifies, and never MACs.
        let staged = TaggedMac::new(3, &hmac(alg, &key_of(3), b"data"));
        ring.hmac_verify_tagged(b"data", staged.as_bytes()).unwrap();
        assert!(ring.is_locked() || crate::sys::mem::lock_stats().lock_failures > 0);
    }
}

#[test]
fn tags_are_the_key_stores_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let km = crate::KeyManager::open(tmp.path().join("keys")).unwrap();
    km.store("k", &key_of(1)).unwrap();
    let old_tag = km
        .key("k")
        .unwrap()
        .hmac_tagged(HashAlg::Sha384, b"m")
        .unwrap();
    km.rotate("k", &key_of(2)).unwrap();
    let fake = Fake::new(2, &[1, 2]);
    let ring = keyring(&fake, HashAlg::Sha384, 0);
    let tag = ring.hmac_tagged(b"m").unwrap();
    let stored = km
        .key("k")
        .unwrap()
        .hmac_tagged(HashAlg::Sha384, b"m")
        .unwrap();
    assert_eq!(tag.as_bytes(), stored.as_bytes());
    ring.hmac_verify_tagged(b"m", old_tag.as_bytes()).unwrap();
    km.key("k")
        .unwrap()
        .hmac_verify_tagged(HashAlg::Sha384, b"m", tag.as_bytes())
        .unwrap();
    // The same through a keyring of the store itself.
    let loaded = km.load("k", HashAlg::Sha384, None).unwrap();
    assert_eq!(
        loaded.hmac_tagged(b"m").unwrap().as_bytes(),
        stored.as_bytes()
    );
    loaded.hmac_verify_tagged(b"m", old_tag.as_bytes()).unwrap();
}

#[test]
fn malformed_or_unknown_tags_fail_verification() {
    let fake = Fake::new(2, &[1, 2]);
    let ring = keyring(&fake, HashAlg::Sha256, 0);
    let good = ring.hmac_tagged(b"data").unwrap().as_bytes().to_vec();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut format = good.clone();
    format[0] = 0x02;
    cases.push(("format byte", format));
    cases.push(("short", good[..good.len() - 1].to_vec()));
    cases.push(("long", [good.as_slice(), &[0]].concat()));
    cases.push(("empty", Vec::new()));
    for version in [0u32, 3, u32::MAX] {
        let mut other = good.clone();
        other[1..5].copy_from_slice(&version.to_be_bytes());
        cases.push(("unknown version", other));
    }
    let mut wrong_version = good.clone();
    wrong_version[4] = 1;
    cases.push(("another version's key", wrong_version));
    let mut flipped = good.clone();
    flipped[20] ^= 1;
    cases.push(("mismatch", flipped));
    for (name, tag) in cases {
        let err = ring.hmac_verify_tagged(b"data", &tag).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::VerifyFailed, "{name}");
    }
    let err = ring.hmac_verify(b"data", &good[5..20]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerifyFailed);
}

#[test]
fn refresh_loads_only_when_the_marker_changes() {
    let fake = Fake::new(1, &[1]);
    let ring = keyring(&fake, HashAlg::Sha256, 0);
    assert_eq!(fake.loads(), 1);
    for _ in 0..5 {
        assert!(!ring.refresh().unwrap());
    }
    assert_eq!(fake.loads(), 1, "an unchanged marker never loads");
    fake.rotate(2, &[1, 2]);
    assert_eq!(ring.current_version().unwrap(), 1, "refresh_ms 0: no check");
    assert!(ring.refresh().unwrap());
    assert_eq!(fake.loads(), 2);
    assert_eq!(ring.current_version().unwrap(), 2);
    assert_eq!(
        ring.hmac(b"x").unwrap(),
        hmac(HashAlg::Sha256, &key_of(2), b"x")
    );
}

#[test]
fn a_failing_reload_keeps_the_last_good_set_and_refresh_reports_it() {
    let fake = Fake::new(1, &[1]);
    let ring = keyring(&fake, HashAlg::Sha256, 1);
    fake.fail_loads(Some(ErrorKind::Io));
    fake.rotate(2, &[1, 2]);
    let deadline = Instant::now() + Duration::from_millis(200);
    while Instant::now() < deadline {
        // Calls keep succeeding with version 1 while reloads fail.
        assert_eq!(
            ring.hmac(b"x").unwrap(),
            hmac(HashAlg::Sha256, &key_of(1), b"x")
        );
    }
    assert!(fake.loads() > 1, "the calls tried to reload");
    assert_eq!(ring.refresh().unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(ring.current_version().unwrap(), 1);
    // A source that returns an unusable set is a failure too.
    fake.fail_loads(None);
    fake.rotate(5, &[1, 2]);
    assert_eq!(ring.refresh().unwrap_err().kind(), ErrorKind::Corrupt);
    fake.rotate(2, &[1, 2]);
    assert!(ring.refresh().unwrap());
    assert_eq!(ring.current_version().unwrap(), 2);
}

#[test]
fn calls_see_a_rotation_within_refresh_ms_and_never_load_for_nothing() {
    let fake = Fake::new(1, &[1]);
    let ring = keyring(&fake, HashAlg::Sha256, 20);
    let until = Instant::now() + Duration::from_millis(150);
    while Instant::now() < until {
        ring.hmac(b"x").unwrap();
    }
    assert_eq!(fake.loads(), 1, "no load while nothing changed");
    let checks = fake.marker_reads.load(Ordering::SeqCst);
    assert!((2..=12).contains(&checks), "{checks} checks in 150 ms");
    fake.rotate(2, &[1, 2]);
    let rotated = Instant::now();
    while ring.current_version().unwrap() != 2 {
        assert!(
            rotated.elapsed() < Duration::from_millis(500),
            "rotation not seen"
        );
    }
    // 20 ms, plus the coarse clock's tick and a loaded machine's delays.
    assert!(
        rotated.elapsed() < Duration::from_millis(100),
        "{:?}",
        rotated.elapsed()
    );
    assert_eq!(fake.loads(), 2);
}

#[test]
fn a_deleted_key_stops_serving_until_it_exists_again() {
    let fake = Fake::new(1, &[1]);
    let ring = keyring(&fake, HashAlg::Sha512, 0);
    let tag = ring.hmac_tagged(b"x").unwrap();
    fake.delete();
    assert_eq!(ring.refresh().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(ring.hmac(b"x").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        ring.hmac_verify_tagged(b"x", tag.as_bytes())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ring.current_version().unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!ring.is_locked());
    assert_eq!(ring.refresh().unwrap_err().kind(), ErrorKind::NotFound);
    fake.rotate(1, &[1]);
    assert!(ring.refresh().unwrap());
    ring.hmac_verify_tagged(b"x", tag.as_bytes()).unwrap();
}

#[test]
fn the_first_load_must_succeed() {
    let fake = Fake::new(1, &[1]);
    fake.fail_loads(Some(ErrorKind::Corrupt));
    let err = Keyring::new(Box::new(Handle(Arc::clone(&fake))), HashAlg::Sha256, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    fake.fail_loads(None);
    fake.delete();
    let err = Keyring::new(Box::new(Handle(fake)), HashAlg::Sha256, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// Eight threads MAC and verify while another replaces the set thousands
/// of times: every tagged MAC is the HMAC of the key of the version it
/// names, and verifies while that version is kept.
#[test]
fn eight_threads_never_see_a_torn_set_while_sets_are_swapped() {
    const SWAPS: u32 = 2000;
    let fake = Fake::new(5, &[1, 2, 3, 4, 5]);
    let ring = Arc::new(keyring(&fake, HashAlg::Sha256, 1));
    let done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8u8)
        .map(|id| {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut made = 0u64;
                let data = [id; 40];
                while !done.load(Ordering::Relaxed) || made < 100 {
                    let tag = ring.hmac_tagged(&data).unwrap();
                    let expected = hmac(HashAlg::Sha256, &key_of(tag.version()), &data);
                    assert_eq!(&tag.as_bytes()[5..], expected.as_bytes(), "torn set");
                    // The version stays within the newest five for a while.
                    let _ = ring.hmac_verify_tagged(&data, tag.as_bytes());
                    let mac = ring.hmac(&data).unwrap();
                    assert_eq!(mac.len(), 32);
                    made += 1;
                }
                made
            })
        })
        .collect();
    for current in 6..6 + SWAPS {
        let kept: Vec<u32> = (current - 4..=current).collect();
        fake.rotate(current, &kept);
        // A worker's own check (refresh_ms 1) may have loaded it already.
        ring.refresh().unwrap();
        assert_eq!(ring.current_version().unwrap(), current);
    }
    done.store(true, Ordering::Relaxed);
    let made: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(made >= 800);
    assert_eq!(ring.current_version().unwrap(), 5 + SWAPS);
}

#[test]
fn keyrings_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Keyring>();
    shareable::<KeySet>();
}

/// A [`Fake`] with a change feed: its marker comes from the script, and a
/// test wakes the follower as a watch would.
struct Fed {
    fake: Arc<Fake>,
    waker: Arc<Mutex<Option<std::thread::Thread>>>,
    /// Marker reads made on any thread but the follower's.
    reads_in_calls: Arc<AtomicUsize>,
}

impl KeySource for Fed {
    fn change_marker(&self) -> Result<Marker> {
        if std::thread::current().name() != Some(FOLLOWER_THREAD_NAME) {
            self.reads_in_calls.fetch_add(1, Ordering::SeqCst);
        }
        Handle(Arc::clone(&self.fake)).change_marker()
    }

    fn load(&self) -> Result<LoadedKey> {
        Handle(Arc::clone(&self.fake)).load()
    }

    fn follow(&self, _since: Marker, waker: std::thread::Thread) -> Result<bool> {
        *self.waker.lock().unwrap() = Some(waker);
        Ok(true)
    }
}

#[test]
fn a_followed_keyring_reloads_on_its_thread_and_calls_never_check() {
    let fake = Fake::new(1, &[1]);
    let waker = Arc::new(Mutex::new(None::<std::thread::Thread>));
    let reads_in_calls = Arc::new(AtomicUsize::new(0));
    let source = Fed {
        fake: Arc::clone(&fake),
        waker: Arc::clone(&waker),
        reads_in_calls: Arc::clone(&reads_in_calls),
    };
    // An hour between checks: only a wake-up makes the keyring reload.
    let ring = Keyring::new(Box::new(source), HashAlg::Sha256, 3_600_000).unwrap();
    assert!(ring.is_followed());
    let wake = || waker.lock().unwrap().as_ref().unwrap().unpark();
    let in_calls_at_start = reads_in_calls.load(Ordering::SeqCst);

    fake.rotate(2, &[1, 2]);
    wake();
    let started = Instant::now();
    while ring.current_version().unwrap() != 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "no reload");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        ring.hmac(b"m").unwrap().as_bytes(),
        hmac(HashAlg::Sha256, &key_of(2), b"m").as_bytes()
    );
    for _ in 0..10_000 {
        ring.hmac(b"m").unwrap();
    }
    assert_eq!(
        reads_in_calls.load(Ordering::SeqCst),
        in_calls_at_start,
        "calls read no marker"
    );

    // Dropped, the keyring stops its thread: a later wake-up loads nothing.
    let thread = waker.lock().unwrap().clone().unwrap();
    drop(ring);
    let loads = fake.loads();
    fake.rotate(3, &[3]);
    thread.unpark();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(fake.loads(), loads);
}

#[test]
fn a_source_without_a_feed_is_checked_by_calls() {
    let fake = Fake::new(1, &[1]);
    let ring = keyring(&fake, HashAlg::Sha256, 1);
    assert!(!ring.is_followed());
    fake.rotate(2, &[1, 2]);
    let started = Instant::now();
    while ring.current_version().unwrap() != 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "no reload");
        std::thread::sleep(Duration::from_millis(1));
    }
}
