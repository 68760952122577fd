//! Rows for tampered key files, version records, the lock file and
//! temporary names.

use crate::common::fs::{chown, mkfifo, remove, set_mode, symlink, write_file};
use crate::common::hostile::*;
use crate::common::is_root;
use crate::common::store::{current_number, version_bytes, version_list};
use crate::table::*;
use codomyrmex_keys::{ErrorKind, MAX_KEY_LEN};
use std::sync::Arc;

/// A key file that is not a private regular file of ours: every call that
/// reads it fails with `kind`; nothing is written through it.
fn unusable_key_file(tamper: &str, setup: &Setup, kind: ErrorKind) -> Vec<Case> {
    rows(
        tamper,
        setup,
        vec![
            (get("victim"), E(kind)),
            (store("victim"), E(kind)),
            (rotate("victim"), E(kind)),
            (create("victim"), E(EXISTS)),
            (current_version("victim"), E(kind)),
            (get_version("victim", 1), E(kind)),
            (list_versions("victim"), E(kind)),
            (prune("victim"), E(kind)),
            (hmac_op("victim"), E(kind)),
            (hmac_tagged("victim"), E(kind)),
            (derive("victim"), E(kind)),
            // Other keys are not affected.
            (get("other"), OK),
            (rotate("other"), OK),
        ],
    )
}

pub(crate) fn file_attack_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // The key file is a symbolic link: to the attacker's file, to another
    // key, dangling.
    for (tamper, target) in [
        ("key file symlinked outside", "outside"),
        ("key file symlinked to another key", "other"),
        ("key file a dangling symlink", "nowhere"),
    ] {
        let s = setup(move |e| {
            let target = match target {
                "outside" => e.secret(),
                "other" => e.key("other"),
                _ => e.root.join("nowhere"),
            };
            remove(&e.key("victim"));
            symlink(&target, &e.key("victim"));
        });
        cases.extend(unusable_key_file(tamper, &s, IP));
        cases.push(case(tamper, &s, &exists("victim"), E(IP)));
        cases.push(
            case(tamper, &s, &list(), OK)
                .then(|e| assert_eq!(e.km.list().unwrap(), ["other"], "a symlink is not listed")),
        );
        // Deleting removes the link itself (and the versions), never its
        // target.
        cases.push(case(tamper, &s, &delete("victim"), OK).then(|e| {
            assert!(std::fs::symlink_metadata(e.key("victim")).is_err());
            assert_eq!(std::fs::read(e.key("other")).unwrap(), OTHER);
            assert!(!e.dir.join(".versions/victim").exists());
        }));
    }

    // The key file is a hard link: to the attacker's file, or kept by the
    // attacker as a second name.
    let s = setup(|e| {
        remove(&e.key("victim"));
        std::fs::hard_link(e.secret(), e.key("victim")).unwrap();
    });
    cases.extend(unusable_key_file(
        "key file hard-linked to an outside file",
        &s,
        IP,
    ));
    let s = setup(|e| {
        std::fs::hard_link(e.key("victim"), e.outside.join("copy")).unwrap();
    });
    cases.extend(rows(
        "key file with a second hard link outside",
        &s,
        vec![(get("victim"), E(IP)), (rotate("victim"), E(IP))],
    ));

    // Not a regular file: FIFO (must not block), directory, socket.
    let s = setup(|e| {
        remove(&e.key("victim"));
        mkfifo(&e.key("victim"));
    });
    cases.extend(unusable_key_file("key file a FIFO", &s, CORRUPT));
    cases.push(case("key file a FIFO", &s, &exists("victim"), E(CORRUPT)));
    cases.push(case("key file a FIFO", &s, &delete("victim"), OK));
    let s = setup(|e| {
        remove(&e.key("victim"));
        std::fs::create_dir(e.key("victim")).unwrap();
        write_file(&e.key("victim").join("inner"), b"x", 0o600);
    });
    cases.extend(unusable_key_file("key file a directory", &s, CORRUPT));
    cases.push(case(
        "key file a directory",
        &s,
        &exists("victim"),
        E(CORRUPT),
    ));
    cases.push(case(
        "key file a directory",
        &s,
        &delete("victim"),
        E(CORRUPT),
    ));
    let sockets: Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixListener>>> = Arc::default();
    let s = setup(move |e| {
        remove(&e.key("victim"));
        let listener = std::os::unix::net::UnixListener::bind(e.key("victim")).unwrap();
        sockets.lock().unwrap().push(listener);
    });
    cases.extend(rows(
        "key file a socket",
        &s,
        vec![
            (get("victim"), E(CORRUPT)),
            (exists("victim"), E(CORRUPT)),
            (rotate("victim"), E(CORRUPT)),
        ],
    ));

    // Wrong modes.
    for mode in [
        0o640, 0o604, 0o660, 0o644, 0o606, 0o620, 0o602, 0o610, 0o601, 0o666, 0o777, 0o4644,
    ] {
        let s = setup(move |e| set_mode(&e.key("victim"), mode));
        cases.extend(rows(
            &format!("key file mode {mode:04o}"),
            &s,
            vec![
                (get("victim"), E(IP)),
                (store("victim"), E(IP)),
                (rotate("victim"), E(IP)),
                (hmac_op("victim"), E(IP)),
            ],
        ));
    }
    for mode in [0o400, 0o600, 0o700] {
        let s = setup(move |e| set_mode(&e.key("victim"), mode));
        cases.push(case(
            format!("key file mode {mode:04o}"),
            &s,
            &get("victim"),
            OK,
        ));
    }

    // Wrong sizes.
    for (tamper, content) in [
        ("key file empty", Vec::new()),
        ("key file over the limit", vec![7u8; MAX_KEY_LEN + 1]),
    ] {
        let s = setup(move |e| write_file(&e.key("victim"), &content, 0o600));
        cases.extend(rows(
            tamper,
            &s,
            vec![
                (get("victim"), E(CORRUPT)),
                (store("victim"), E(CORRUPT)),
                (rotate("victim"), E(CORRUPT)),
            ],
        ));
    }

    // Versions: symbolic links for the version directories and records.
    let s = setup(|e| {
        let stolen = e.outside.join("stolen");
        std::fs::rename(e.dir.join(".versions"), &stolen).unwrap();
        symlink(&stolen, &e.dir.join(".versions"));
    });
    cases.extend(rows(
        ".versions symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (rotate("victim"), E(IP)),
            (store("victim"), E(IP)),
            (current_version("victim"), E(IP)),
            (get_version("victim", 1), E(IP)),
            (list_versions("victim"), E(IP)),
            (prune("victim"), E(IP)),
            (hmac_tagged("victim"), E(IP)),
            (create("fresh"), E(IP)),
        ],
    ));
    let s = setup(|e| {
        let stolen = e.outside.join("stolen-victim");
        std::fs::rename(e.dir.join(".versions/victim"), &stolen).unwrap();
        symlink(&stolen, &e.dir.join(".versions/victim"));
    });
    cases.extend(rows(
        ".versions/victim symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (rotate("victim"), E(IP)),
            (current_version("victim"), E(IP)),
            (get_version("victim", 1), E(IP)),
            (list_versions("victim"), E(IP)),
            (prune("victim"), E(IP)),
            (rotate("other"), OK),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        symlink(&e.secret(), &e.record("victim", 1));
    });
    cases.extend(rows(
        "record 1 symlinked outside",
        &s,
        vec![
            (get_version("victim", 1), E(IP)),
            (get_version("victim", 2), OK),
            (current_version("victim"), OK),
            (list_versions("victim"), OK),
            (rotate("victim"), OK),
        ],
    ));
    // Pruning removes the link, never its target.
    cases.push(
        case("record 1 symlinked outside", &s, &prune("victim"), OK).then(|e| {
            assert!(std::fs::symlink_metadata(e.record("victim", 1)).is_err());
            assert_eq!(version_list(&e.km, "victim").unwrap(), [3]);
        }),
    );
    // The highest record decides the current version number: a link
    // there makes every version query fail, but not `get`.
    let s = setup(|e| {
        remove(&e.record("victim", 2));
        symlink(&e.secret(), &e.record("victim", 2));
    });
    cases.extend(rows(
        "record 2 (highest) symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (current_version("victim"), E(IP)),
            (get_version("victim", 2), E(IP)),
            (rotate("victim"), E(IP)),
            (store("victim"), E(IP)),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        std::fs::hard_link(e.secret(), e.record("victim", 1)).unwrap();
    });
    cases.push(case(
        "record 1 hard-linked to an outside file",
        &s,
        &get_version("victim", 1),
        E(IP),
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 2));
        mkfifo(&e.record("victim", 2));
    });
    cases.extend(rows(
        "record 2 a FIFO",
        &s,
        vec![
            (current_version("victim"), E(CORRUPT)),
            (rotate("victim"), E(CORRUPT)),
            (get_version("victim", 2), E(CORRUPT)),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        std::fs::create_dir(e.record("victim", 1)).unwrap();
    });
    cases.push(case(
        "record 1 a directory",
        &s,
        &get_version("victim", 1),
        E(CORRUPT),
    ));
    let s = setup(|e| write_file(&e.record("victim", 2), b"", 0o600));
    cases.push(case(
        "record 2 empty",
        &s,
        &current_version("victim"),
        E(CORRUPT),
    ));
    for mode in [0o644, 0o640, 0o604] {
        let s = setup(move |e| set_mode(&e.record("victim", 1), mode));
        cases.push(case(
            format!("record 1 mode {mode:04o}"),
            &s,
            &get_version("victim", 1),
            E(IP),
        ));
    }
    for (tamper, path, mode) in [
        (".versions mode 0755", ".versions", 0o755),
        (".versions mode 0770", ".versions", 0o770),
        (".versions/victim mode 0750", ".versions/victim", 0o750),
    ] {
        let s = setup(move |e| set_mode(&e.dir.join(path), mode));
        cases.extend(rows(
            tamper,
            &s,
            vec![(rotate("victim"), E(IP)), (list_versions("victim"), E(IP))],
        ));
    }
    let s = setup(|e| {
        remove(&e.dir.join(".versions"));
        write_file(&e.dir.join(".versions"), b"not a directory", 0o600);
    });
    cases.extend(rows(
        ".versions a regular file",
        &s,
        vec![
            (rotate("victim"), E(IP)),
            (list_versions("victim"), E(IP)),
            (create("fresh"), E(IP)),
        ],
    ));
    // Stray names among the records are not versions.
    let s = setup(|e| {
        for stray in ["0", "01", "x", "-1", ".3.tmp", "99999999999"] {
            write_file(&e.dir.join(".versions/victim").join(stray), b"stray", 0o600);
        }
    });
    cases.push(
        case(
            "stray names among the records",
            &s,
            &list_versions("victim"),
            OK,
        )
        .then(|e| {
            assert_eq!(version_list(&e.km, "victim").unwrap(), [1, 2, 3]);
            assert_eq!(current_number(&e.km, "victim").unwrap(), 3);
        }),
    );

    // Wrong owners (root can give files away).
    if is_root() {
        let s = setup(|e| chown(&e.key("victim"), 65534));
        cases.extend(rows(
            "key file owned by uid 65534",
            &s,
            vec![
                (get("victim"), E(IP)),
                (store("victim"), E(IP)),
                (rotate("victim"), E(IP)),
                (hmac_tagged("victim"), E(IP)),
            ],
        ));
        let s = setup(|e| {
            std::os::unix::fs::lchown(e.key("victim"), None, Some(65534)).unwrap();
        });
        cases.push(case(
            "key file group 65534, mode 0600",
            &s,
            &get("victim"),
            OK,
        ));
        let s = setup(|e| chown(&e.record("victim", 1), 65534));
        cases.push(case(
            "record 1 owned by uid 65534",
            &s,
            &get_version("victim", 1),
            E(IP),
        ));
        let s = setup(|e| chown(&e.dir.join(".versions"), 65534));
        cases.push(case(
            ".versions owned by uid 65534",
            &s,
            &rotate("victim"),
            E(IP),
        ));
        let s = setup(|e| chown(&e.dir.join(".versions/victim"), 65534));
        cases.push(case(
            ".versions/victim owned by uid 65534",
            &s,
            &list_versions("victim"),
            E(IP),
        ));
    }

    // The lock file: a link must never be followed, whatever it points at;
    // anything but a private regular file of ours there is refused as
    // insecure (whoever controls it could hold the lock forever).
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        symlink(&e.secret(), &e.dir.join(".lock"));
    });
    cases.extend(rows(
        ".lock symlinked outside",
        &s,
        vec![
            (store("victim"), E(IP)),
            (rotate("victim"), E(IP)),
            (create("fresh"), E(IP)),
            (delete("victim"), E(IP)),
            (get("victim"), OK),
        ],
    ));
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        std::fs::create_dir(e.dir.join(".lock")).unwrap();
    });
    cases.extend(rows(
        ".lock a directory",
        &s,
        vec![(store("victim"), E(IP)), (get("victim"), OK)],
    ));
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        mkfifo(&e.dir.join(".lock"));
    });
    cases.extend(rows(
        ".lock a FIFO",
        &s,
        vec![(store("victim"), E(IP)), (get("victim"), OK)],
    ));
    for mode in [0o620, 0o602, 0o666] {
        let s = setup(move |e| set_mode(&e.dir.join(".lock"), mode));
        cases.extend(rows(
            &format!(".lock mode {mode:04o}"),
            &s,
            vec![
                (store("victim"), E(IP)),
                (delete("victim"), E(IP)),
                (get("victim"), OK),
            ],
        ));
    }
    let s = setup(|e| set_mode(&e.dir.join(".lock"), 0o644));
    cases.push(case(".lock mode 0644", &s, &store("victim"), OK));
    if is_root() {
        let s = setup(|e| chown(&e.dir.join(".lock"), 65534));
        cases.extend(rows(
            ".lock owned by uid 65534",
            &s,
            vec![(store("victim"), E(IP)), (get("victim"), OK)],
        ));
    }

    // Temporary names taken by the attacker: replaced, never followed.
    for (tamper, make) in [
        ("temp file symlinked outside", 0),
        ("temp file hard-linked to an outside file", 1),
        ("temp file a FIFO", 2),
    ] {
        let s = setup(move |e| {
            let temp = e.dir.join(".victim.key.tmp");
            match make {
                0 => symlink(&e.secret(), &temp),
                1 => std::fs::hard_link(e.secret(), &temp).unwrap(),
                _ => mkfifo(&temp),
            }
        });
        cases.push(case(tamper, &s, &store("victim"), OK).then(|e| {
            assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
            assert!(std::fs::symlink_metadata(e.dir.join(".victim.key.tmp")).is_err());
        }));
    }
    let s = setup(|e| {
        std::fs::create_dir(e.dir.join(".victim.key.tmp")).unwrap();
        write_file(&e.dir.join(".victim.key.tmp/inner"), b"x", 0o600);
    });
    cases.push(case("temp name a directory", &s, &store("victim"), E(IO)));
    let s = setup(|e| symlink(&e.secret(), &e.dir.join(".versions/victim/.3.tmp")));
    cases.push(
        case(
            "record temp file symlinked outside",
            &s,
            &rotate("victim"),
            OK,
        )
        .then(|e| {
            assert_eq!(version_bytes(&e.km, "victim", 3).unwrap().as_bytes(), V3);
            assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
        }),
    );

    cases
}
