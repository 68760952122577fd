//! The key store through the safe API, on fresh temporary directories:
//! round trips, unusable key files, key lengths and key-id validation, one
//! manager shared by threads. Permissions, atomicity, listing and the
//! default directory are in the other `key_store_*` tests.

mod common;

use codomyrmex_keys::{
    ErrorKind, HashAlg, KeyManager, MAX_KEY_ID_LEN, MAX_KEY_LEN, hkdf_derive, hmac, validate_key_id,
};
use common::fs::{mkfifo, write_file as write_raw};
use common::snapshot;
use common::store::{Bounded, fresh, kind, rotate_bounded};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Duration;

// KeyManager may be shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyManager>();
};

/// Runs `body` on another thread and fails (instead of hanging) if it does
/// not finish within a generous bound.
fn without_hanging<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call blocked (or panicked)")
}

// ---------------------------------------------------------------------------
// Round trips.

#[test]
fn every_operation_round_trips() {
    let (_tmp, dir, km) = fresh();
    assert_eq!(
        km.location().path(),
        std::fs::canonicalize(&dir).unwrap(),
        "location() is the resolved path"
    );
    assert_eq!(km.list().unwrap(), Vec::<String>::new());
    assert!(!km.exists("alpha").unwrap());
    let err = km.get("alpha").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("alpha"), "{}", err.message());

    // store / get / exists
    km.store("alpha", b"first alpha key").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"first alpha key");
    assert!(km.exists("alpha").unwrap());
    km.store("alpha", b"second").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"second");
    let on_disk = std::fs::read(dir.join("alpha.key")).unwrap();
    assert_eq!(on_disk, b"second", "the file holds the raw key bytes");

    // create: only if absent
    km.create("beta", b"beta key").unwrap();
    assert_eq!(kind(km.create("beta", b"other")), ErrorKind::AlreadyExists);
    assert_eq!(km.get("beta").unwrap().as_bytes(), b"beta key");

    // generate: random, only if absent
    km.generate("gamma", 32).unwrap();
    let gamma = km.get("gamma").unwrap();
    assert_eq!(gamma.len(), 32);
    assert_eq!(kind(km.generate("gamma", 32)), ErrorKind::AlreadyExists);
    assert_eq!(km.get("gamma").unwrap(), gamma);
    km.generate("delta", 32).unwrap();
    assert_ne!(km.get("delta").unwrap(), gamma);
    assert_eq!(format!("{gamma:?}"), "SecretBytes([redacted; 32])");

    // list
    assert_eq!(km.list().unwrap(), ["alpha", "beta", "delta", "gamma"]);

    // rotate returns the previous key
    let old = km
        .rotate("alpha", b"third")
        .unwrap()
        .expect("a previous key");
    assert_eq!(old.as_bytes(), b"second");
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"third");
    assert!(km.rotate("epsilon", b"new").unwrap().is_none());
    assert_eq!(km.get("epsilon").unwrap().as_bytes(), b"new");
    let err = rotate_bounded(&km, "alpha", b"fourth", 4).unwrap_err();
    assert!(matches!(err, Bounded::TooLong { needed: 5 }), "{err:?}");
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"third");

    // hmac / hmac_verify / derive with the stored key
    let alpha = km.key("alpha").unwrap();
    let missing = km.key("missing").unwrap();
    for alg in HashAlg::ALL {
        let mac = alpha.hmac(alg, b"message").unwrap();
        assert_eq!(mac, hmac(alg, b"third", b"message"));
        alpha.hmac_verify(alg, b"message", mac.as_bytes()).unwrap();
        assert_eq!(
            kind(alpha.hmac_verify(alg, b"message!", mac.as_bytes())),
            ErrorKind::VerifyFailed
        );
        assert_eq!(
            kind(alpha.hmac_verify(alg, b"message", &mac.as_bytes()[..16])),
            ErrorKind::VerifyFailed
        );
        let mut okm = [0u8; 100];
        alpha.derive(alg, b"salt", b"info", &mut okm).unwrap();
        let mut expected = [0u8; 100];
        hkdf_derive(alg, b"third", b"salt", b"info", &mut expected).unwrap();
        assert_eq!(okm, expected);
        let mut empty = [0u8; 0];
        assert_eq!(
            kind(alpha.derive(alg, b"", b"", &mut empty)),
            ErrorKind::InvalidArgument
        );
        assert_eq!(kind(missing.hmac(alg, b"m")), ErrorKind::NotFound);
        let mut untouched = [7u8; 16];
        assert_eq!(
            kind(missing.derive(alg, b"", b"", &mut untouched)),
            ErrorKind::NotFound
        );
        assert_eq!(untouched, [7u8; 16]);
    }

    // delete
    km.delete("beta").unwrap();
    assert!(!km.exists("beta").unwrap());
    assert_eq!(kind(km.get("beta")), ErrorKind::NotFound);
    assert_eq!(kind(km.delete("beta")), ErrorKind::NotFound);
    assert_eq!(km.list().unwrap(), ["alpha", "delta", "epsilon", "gamma"]);

    // No temporary file is left behind; only key files, the lock file and
    // the records of older versions.
    for name in snapshot(&dir).keys() {
        let name = name.to_str().unwrap();
        assert!(
            name == ".lock"
                || name.starts_with(".versions")
                || (name.ends_with(".key") && !name.starts_with('.')),
            "unexpected entry {name:?}"
        );
    }
}

#[test]
fn a_new_manager_sees_keys_written_by_another() {
    let (_tmp, dir, km) = fresh();
    km.store("shared", b"value").unwrap();
    let second = KeyManager::open(&dir).unwrap();
    assert_eq!(second.get("shared").unwrap().as_bytes(), b"value");
    second.delete("shared").unwrap();
    assert!(!km.exists("shared").unwrap());
}

#[test]
fn stale_temporary_file_is_replaced_and_removed() {
    let (_tmp, dir, km) = fresh();
    let temp = dir.join(".k.key.tmp");
    write_raw(&temp, b"left by a killed writer", 0o600);
    km.store("k", b"fresh").unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"fresh");
    assert!(
        !temp.exists(),
        "the write consumed the stale temporary file"
    );
    write_raw(&temp, b"again", 0o600);
    km.delete("k").unwrap();
    assert!(!temp.exists(), "delete removes a stale temporary file");
}

// ---------------------------------------------------------------------------
// Unusable key files.

#[test]
fn fifo_key_file_is_corrupt_without_hanging() {
    let (_tmp, dir, km) = fresh();
    mkfifo(&dir.join("x.key"));
    let km = Arc::new(km);
    let shared = Arc::clone(&km);
    let kinds = without_hanging(move || {
        (
            kind(shared.get("x")),
            kind(shared.exists("x")),
            kind(shared.key("x").unwrap().hmac(HashAlg::Sha256, b"m")),
            kind(shared.rotate("x", b"new")),
            shared.list().unwrap(),
        )
    });
    assert_eq!(kinds.0, ErrorKind::Corrupt, "get");
    assert_eq!(kinds.1, ErrorKind::Corrupt, "exists");
    assert_eq!(kinds.2, ErrorKind::Corrupt, "hmac");
    assert_eq!(kinds.3, ErrorKind::Corrupt, "rotate");
    assert!(kinds.4.is_empty(), "a FIFO is not listed");
    assert_eq!(
        std::fs::symlink_metadata(dir.join("x.key")).unwrap().mode() & libc::S_IFMT,
        libc::S_IFIFO,
        "the FIFO is still there"
    );
}

#[test]
fn directory_named_like_a_key_is_corrupt_and_not_listed() {
    let (_tmp, dir, km) = fresh();
    std::fs::create_dir(dir.join("x.key")).unwrap();
    km.store("real", b"v").unwrap();
    assert_eq!(kind(km.get("x")), ErrorKind::Corrupt);
    assert_eq!(kind(km.exists("x")), ErrorKind::Corrupt);
    assert_eq!(kind(km.store("x", b"v")), ErrorKind::Corrupt);
    let create = kind(km.create("x", b"v"));
    assert!(
        matches!(create, ErrorKind::AlreadyExists | ErrorKind::Corrupt),
        "{create:?}"
    );
    assert_eq!(kind(km.delete("x")), ErrorKind::Corrupt);
    assert_eq!(km.list().unwrap(), ["real"]);
    assert!(dir.join("x.key").is_dir(), "the directory is left alone");
    assert!(
        !dir.join(".x.key.tmp").exists(),
        "no temporary file left behind"
    );
}

#[test]
fn socket_named_like_a_key_is_corrupt() {
    let (_tmp, dir, km) = fresh();
    let _listener = std::os::unix::net::UnixListener::bind(dir.join("sock.key")).unwrap();
    assert_eq!(kind(km.get("sock")), ErrorKind::Corrupt);
    assert_eq!(kind(km.exists("sock")), ErrorKind::Corrupt);
    assert!(km.list().unwrap().is_empty());
}

#[test]
fn empty_and_oversized_key_files_are_corrupt() {
    let (_tmp, dir, km) = fresh();
    write_raw(&dir.join("empty.key"), b"", 0o600);
    assert_eq!(kind(km.get("empty")), ErrorKind::Corrupt);
    assert_eq!(
        kind(km.key("empty").unwrap().hmac(HashAlg::Sha256, b"m")),
        ErrorKind::Corrupt
    );

    write_raw(&dir.join("big.key"), &vec![1u8; MAX_KEY_LEN + 1], 0o600);
    assert_eq!(kind(km.get("big")), ErrorKind::Corrupt);

    write_raw(&dir.join("max.key"), &vec![2u8; MAX_KEY_LEN], 0o600);
    assert_eq!(km.get("max").unwrap().len(), MAX_KEY_LEN);
    write_raw(&dir.join("one.key"), b"\x00", 0o600);
    assert_eq!(km.get("one").unwrap().as_bytes(), b"\x00");
}

#[test]
fn key_lengths_out_of_range_are_refused() {
    let (tmp, _dir, km) = fresh();
    km.store("existing", b"keep me").unwrap();
    let before = snapshot(tmp.path());
    let too_long = vec![0u8; MAX_KEY_LEN + 1];
    for key in [&b""[..], &too_long[..]] {
        let len = key.len();
        assert_eq!(
            kind(km.store("n", key)),
            ErrorKind::InvalidArgument,
            "store {len}"
        );
        assert_eq!(
            kind(km.create("n", key)),
            ErrorKind::InvalidArgument,
            "create {len}"
        );
        assert_eq!(
            kind(km.rotate("n", key)),
            ErrorKind::InvalidArgument,
            "rotate {len}"
        );
        assert_eq!(kind(km.store("existing", key)), ErrorKind::InvalidArgument);
        assert_eq!(kind(km.rotate("existing", key)), ErrorKind::InvalidArgument);
        assert_eq!(
            kind(km.generate("n", len)),
            ErrorKind::InvalidArgument,
            "generate {len}"
        );
    }
    assert_eq!(snapshot(tmp.path()), before, "nothing changed on disk");
    km.store("n", &too_long[..MAX_KEY_LEN]).unwrap();
    km.generate("g", MAX_KEY_LEN).unwrap();
    km.generate("h", 1).unwrap();
    assert_eq!(km.get("g").unwrap().len(), MAX_KEY_LEN);
    assert_eq!(km.get("h").unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// Key ids.

#[test]
fn the_key_id_is_checked_before_the_other_arguments() {
    let (tmp, _dir, km) = fresh();
    let before = snapshot(tmp.path());
    let too_long = vec![1u8; MAX_KEY_LEN + 1];
    for id in ["", "../x", ".hidden"] {
        let mut empty = [0u8; 0];
        let results = [
            ("store", km.store(id, b"")),
            ("store, too long", km.store(id, &too_long)),
            ("create", km.create(id, b"")),
            ("rotate", km.rotate(id, b"").map(drop)),
            ("generate", km.generate(id, 0)),
            ("generate, too long", km.generate(id, MAX_KEY_LEN + 1)),
            ("stage", km.stage(id, b"").map(drop)),
            ("stage_generate", km.stage_generate(id, 0).map(drop)),
            (
                "derive",
                km.key(id)
                    .and_then(|k| k.derive(HashAlg::Sha256, b"", b"", &mut empty)),
            ),
        ];
        for (what, result) in results {
            assert_eq!(kind(result), ErrorKind::InvalidKeyId, "{what}({id:?})");
        }
    }
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn bad_key_ids_are_refused_and_create_nothing() {
    let (tmp, _dir, km) = fresh();
    km.store("victim", b"original").unwrap();
    let parent = tmp.path();
    let before = snapshot(parent);
    let long = "k".repeat(MAX_KEY_ID_LEN + 1);
    let bad: Vec<&str> = vec![
        "",
        ".",
        "..",
        "../x",
        "../victim",
        "./victim",
        "a/b",
        "/abs",
        "/tmp/abs",
        "a\\b",
        "a\0b",
        "victim\0",
        " a",
        "a ",
        "a\tb",
        "a\nb",
        "é",
        "caf\u{e9}",
        "\u{2215}etc",
        &long,
        ".hidden",
        ".victim",
        "*",
        "a?",
        "a:b",
        "~",
    ];
    for id in &bad {
        let shown = id.escape_debug().to_string();
        let mut okm = [9u8; 16];
        let results = [
            validate_key_id(id.as_bytes()).map(drop),
            km.store(id, b"value"),
            km.create(id, b"value"),
            km.generate(id, 16),
            km.get(id).map(drop),
            km.exists(id).map(drop),
            km.delete(id),
            km.rotate(id, b"value").map(drop),
            rotate_bounded(&km, id, b"value", 0)
                .map(drop)
                .map_err(Bounded::into_store_error),
            km.key(id)
                .and_then(|k| k.hmac(HashAlg::Sha256, b"m"))
                .map(drop),
            km.key(id)
                .and_then(|k| k.hmac_verify(HashAlg::Sha256, b"m", &[0; 32])),
            km.key(id)
                .and_then(|k| k.derive(HashAlg::Sha256, b"", b"", &mut okm)),
        ];
        for (i, result) in results.into_iter().enumerate() {
            let err = result.expect_err(&format!("id \"{shown}\" call #{i} succeeded"));
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidKeyId,
                "id \"{shown}\" call #{i}"
            );
            assert!(
                !err.message().contains(['\n', '\0']),
                "one-line message: {:?}",
                err.message()
            );
        }
        assert_eq!(okm, [9u8; 16]);
    }
    assert_eq!(
        snapshot(parent),
        before,
        "nothing created, changed or removed"
    );
    assert!(!Path::new("/abs.key").exists() && !Path::new("/tmp/abs.key").exists());
    assert_eq!(km.get("victim").unwrap().as_bytes(), b"original");

    // Bytes that are not UTF-8 are refused as well.
    for raw in [&b"\xff"[..], b"a\xc3", b"\xc3\xa9"] {
        assert_eq!(kind(validate_key_id(raw)), ErrorKind::InvalidKeyId);
    }
    // The whole allowed alphabet, and the length limit exactly.
    let max = "k".repeat(MAX_KEY_ID_LEN);
    for good in [
        "a", "Z", "0", "a.b", "a..b", "a-", "a_", "-a", "_a", "A-Z_0.9", &max,
    ] {
        assert_eq!(validate_key_id(good.as_bytes()).unwrap(), good);
        km.store(good, b"ok").unwrap();
        assert_eq!(km.get(good).unwrap().as_bytes(), b"ok", "{good}");
    }
}

#[test]
fn key_manager_is_shared_across_threads() {
    let (_tmp, _dir, km) = fresh();
    let km = Arc::new(km);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let km = Arc::clone(&km);
            std::thread::spawn(move || {
                for i in 0..10 {
                    let id = format!("t{t}-{i}");
                    km.store(&id, id.as_bytes()).unwrap();
                    assert_eq!(km.get(&id).unwrap().as_bytes(), id.as_bytes());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(km.list().unwrap().len(), 40);
}
