//! Rows for tampered key directories: links (also behind a trailing slash),
//! modes, owners, parents another user could swap the directory in, and
//! the directory moved, replaced or removed after open.

use crate::common::fs::{chown, set_mode, symlink, write_file};
use crate::common::hostile::*;
use crate::common::is_root;
use crate::common::store::{version_bytes, version_list};
use crate::table::*;
use codomyrmex_keys::{ErrorKind, KeyManager};

pub(crate) fn dir_attack_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let open_at = |name: &'static str, rel: &'static str| {
        op(name, move |e: &Env| {
            KeyManager::open(e.root.join(rel)).map(drop)
        })
    };

    // Opening a directory that is not private to us.
    let s = setup(|e| {
        std::fs::create_dir(e.root.join("real")).unwrap();
        set_mode(&e.root.join("real"), 0o700);
        symlink(&e.root.join("real"), &e.root.join("link"));
    });
    cases.push(case(
        "key dir a symlink",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    let s = setup(|e| symlink(&e.root.join("nowhere"), &e.root.join("link")));
    cases.push(case(
        "key dir a dangling symlink",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    let s = setup(|e| symlink(&e.dir, &e.root.join("link")));
    cases.push(case(
        "key dir a symlink to a key dir",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    // The same links named with a trailing slash or `/.`, which a path
    // lookup would follow: the name means the entry itself.
    for (tamper, target) in [
        ("key dir a symlink", "real"),
        ("key dir a symlink to a key dir", "keys"),
    ] {
        let s = setup(move |e| {
            if target == "real" {
                std::fs::create_dir(e.root.join("real")).unwrap();
                set_mode(&e.root.join("real"), 0o700);
            }
            symlink(&e.root.join(target), &e.root.join("link"));
        });
        for rel in ["link/", "link/.", "link/./", "link//"] {
            cases.push(case(
                format!("{tamper}, opened as {rel}"),
                &s,
                &open_at("open", rel),
                E(IP),
            ));
        }
    }
    // A path ending in `..` names a directory other than its text
    // suggests once a link is involved: refused.
    let s = setup(|e| {
        std::fs::create_dir(e.root.join("sub")).unwrap();
        set_mode(&e.root.join("sub"), 0o700);
    });
    for rel in ["sub/..", "sub/../", "keys/.."] {
        cases.push(case(
            format!("key dir path ending in .. ({rel})"),
            &s,
            &open_at("open", rel),
            E(ErrorKind::InvalidArgument),
        ));
    }
    // Parents that another user could swap the key directory in: writable
    // by group or others without the sticky bit, or another user's.
    for mode in [0o770, 0o777, 0o757, 0o775] {
        let s = setup(move |e| {
            std::fs::create_dir_all(e.root.join("parent/keys")).unwrap();
            set_mode(&e.root.join("parent/keys"), 0o700);
            set_mode(&e.root.join("parent"), mode);
        });
        cases.push(case(
            format!("key dir inside a parent of mode {mode:04o}"),
            &s,
            &open_at("open", "parent/keys"),
            E(IP),
        ));
        let s = setup(move |e| {
            std::fs::create_dir_all(e.root.join("parent/mid/keys")).unwrap();
            set_mode(&e.root.join("parent/mid/keys"), 0o700);
            set_mode(&e.root.join("parent/mid"), 0o700);
            set_mode(&e.root.join("parent"), mode);
        });
        cases.push(case(
            format!("key dir two levels below a parent of mode {mode:04o}"),
            &s,
            &open_at("open", "parent/mid/keys"),
            E(IP),
        ));
        // Missing there: refused, and nothing is created.
        cases.push(case(
            format!("missing key dir inside a parent of mode {mode:04o}"),
            &s,
            &open_at("open", "parent/new"),
            E(IP),
        ));
    }
    for mode in [0o1777, 0o1770, 0o755, 0o700] {
        let s = setup(move |e| {
            std::fs::create_dir_all(e.root.join("parent/keys")).unwrap();
            set_mode(&e.root.join("parent/keys"), 0o700);
            set_mode(&e.root.join("parent"), mode);
        });
        cases.push(
            case(
                format!("key dir inside a parent of mode {mode:04o}"),
                &s,
                &open_at("open", "parent/keys"),
                OK,
            )
            .allow(&["parent"]),
        );
    }
    if is_root() {
        let s = setup(|e| {
            std::fs::create_dir_all(e.root.join("parent/keys")).unwrap();
            set_mode(&e.root.join("parent/keys"), 0o700);
            set_mode(&e.root.join("parent"), 0o755);
            chown(&e.root.join("parent"), 65534);
        });
        cases.push(case(
            "key dir inside a parent owned by uid 65534",
            &s,
            &open_at("open", "parent/keys"),
            E(IP),
        ));
        // Missing below it: nothing is created there either.
        cases.push(case(
            "missing key dir inside a parent owned by uid 65534",
            &s,
            &open_at("open", "parent/new"),
            E(IP),
        ));
    }
    for mode in [0o770, 0o777, 0o702, 0o720, 0o1777, 0o722, 0o730, 0o706] {
        let s = setup(move |e| {
            std::fs::create_dir(e.root.join("shared")).unwrap();
            set_mode(&e.root.join("shared"), mode);
        });
        cases.push(case(
            format!("key dir mode {mode:04o}"),
            &s,
            &open_at("open", "shared"),
            E(IP),
        ));
    }
    for mode in [0o700, 0o750, 0o755, 0o500] {
        let s = setup(move |e| {
            std::fs::create_dir(e.root.join("private")).unwrap();
            set_mode(&e.root.join("private"), mode);
        });
        cases.push(
            case(
                format!("key dir mode {mode:04o}"),
                &s,
                &open_at("open", "private"),
                OK,
            )
            .allow(&["private"]),
        );
    }
    if is_root() {
        let s = setup(|e| {
            std::fs::create_dir(e.root.join("foreign")).unwrap();
            set_mode(&e.root.join("foreign"), 0o700);
            chown(&e.root.join("foreign"), 65534);
        });
        cases.push(case(
            "key dir owned by uid 65534",
            &s,
            &open_at("open", "foreign"),
            E(IP),
        ));
    }
    let s = setup(|e| write_file(&e.root.join("file"), b"x", 0o600));
    cases.push(case(
        "key dir a regular file",
        &s,
        &open_at("open", "file"),
        E(IO),
    ));
    cases.push(case(
        "key dir below a regular file",
        &s,
        &open_at("open", "file/keys"),
        E(IO),
    ));

    // The directory moved or replaced after open: the handle keeps using
    // the directory it opened and never resolves the path again.
    let moved = setup(|e| std::fs::rename(&e.dir, e.root.join("moved")).unwrap());
    let replaced_by_dir = setup(|e| {
        std::fs::rename(&e.dir, e.root.join("moved")).unwrap();
        std::fs::create_dir(&e.dir).unwrap();
        set_mode(&e.dir, 0o700);
    });
    let replaced_by_link = setup(|e| {
        std::fs::rename(&e.dir, e.root.join("moved")).unwrap();
        symlink(&e.outside, &e.dir);
    });
    let lands_in_moved = |e: &Env| {
        let moved = e.root.join("moved");
        assert_eq!(std::fs::read(moved.join("victim.key")).unwrap(), NEW);
        assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
        assert_eq!(e.km.list().unwrap(), ["other", "victim"]);
    };
    for (tamper, s) in [
        ("key dir renamed after open", &moved),
        (
            "key dir replaced by another directory after open",
            &replaced_by_dir,
        ),
        (
            "key dir replaced by a symlink after open",
            &replaced_by_link,
        ),
    ] {
        cases.push(
            case(tamper, s, &store("victim"), OK)
                .allow(&["moved"])
                .then(lands_in_moved),
        );
        cases.push(
            case(tamper, s, &rotate("victim"), OK)
                .allow(&["moved"])
                .then(move |e| {
                    lands_in_moved(e);
                    assert_eq!(version_list(&e.km, "victim").unwrap(), [1, 2, 3, 4]);
                    assert_eq!(version_bytes(&e.km, "victim", 3).unwrap().as_bytes(), V3);
                }),
        );
        cases.push(
            case(tamper, s, &create("fresh"), OK)
                .allow(&["moved"])
                .then(|e| {
                    assert!(e.root.join("moved/fresh.key").is_file());
                    assert_eq!(e.km.list().unwrap(), ["fresh", "other", "victim"]);
                }),
        );
        cases.push(
            case(tamper, s, &delete("other"), OK)
                .allow(&["moved"])
                .then(|e| {
                    assert!(!e.root.join("moved/other.key").exists());
                    assert_eq!(e.km.list().unwrap(), ["victim"]);
                }),
        );
    }
    // Removed after open: writes fail, and nothing appears at the path.
    let s = setup(|e| std::fs::remove_dir_all(&e.dir).unwrap());
    for op in [store("victim"), create("fresh")] {
        cases.push(
            case("key dir removed after open", &s, &op, E(IO)).then(|e| {
                assert!(std::fs::symlink_metadata(&e.dir).is_err());
            }),
        );
    }
    cases.push(case(
        "key dir removed after open",
        &s,
        &get("victim"),
        E(ErrorKind::NotFound),
    ));
    cases
}
