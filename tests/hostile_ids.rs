//! Key ids built to escape or confuse the key directory, refused by every
//! call of the safe API and of the C interface, and odd but valid ids
//! through a whole life, with nothing but their own files ever appearing.

mod common;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_create, codomyrmex_key_manager_current_version,
    codomyrmex_key_manager_delete, codomyrmex_key_manager_derive, codomyrmex_key_manager_exists,
    codomyrmex_key_manager_free, codomyrmex_key_manager_generate, codomyrmex_key_manager_get,
    codomyrmex_key_manager_get_version, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_hmac_tagged, codomyrmex_key_manager_list_versions,
    codomyrmex_key_manager_open, codomyrmex_key_manager_prune, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Result, Version};
use common::ffi::last_error;
use common::fs::{changed, write_file};
use common::hostile::*;
use common::snapshot;
use common::store::kind;
use common::store::{Bounded, rotate_bounded, v, version_bytes, version_list};
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

type IdOp = (&'static str, fn(&KeyManager, &str) -> Result<()>);

fn id_ops() -> Vec<IdOp> {
    fn verify_tagged(km: &KeyManager, id: &str) -> Result<()> {
        let mut tag = [0u8; 5 + 32];
        tag[0] = 1;
        tag[4] = 1;
        km.key(id)?.hmac_verify_tagged(HashAlg::Sha256, b"m", &tag)
    }
    fn tagged_verifier(km: &KeyManager, id: &str) -> Result<()> {
        let mut tag = [0u8; 5 + 32];
        tag[0] = 1;
        tag[4] = 1;
        km.key(id)?.tagged_verifier(HashAlg::Sha256, &tag).map(drop)
    }
    vec![
        ("store", |km, id| km.store(id, NEW)),
        ("create", |km, id| km.create(id, NEW)),
        ("generate", |km, id| km.generate(id, 32)),
        ("get", |km, id| km.get(id).map(drop)),
        ("exists", |km, id| km.exists(id).map(drop)),
        ("delete", |km, id| km.delete(id)),
        ("rotate", |km, id| km.rotate(id, NEW).map(drop)),
        ("rotate_if", |km, id| {
            rotate_bounded(km, id, NEW, 0)
                .map(drop)
                .map_err(Bounded::into_store_error)
        }),
        ("key", |km, id| km.key(id).map(drop)),
        ("current_version", |km, id| {
            km.key(id)?.current_version().map(drop)
        }),
        ("versions", |km, id| km.key(id)?.versions().map(drop)),
        ("get current", |km, id| {
            km.key(id)?.at(Version::Current).get().map(drop)
        }),
        ("get version 1", |km, id| {
            km.key(id)?.at(v(1)).get().map(drop)
        }),
        ("prune", |km, id| km.prune(id, NonZeroU32::MIN)),
        ("stage", |km, id| km.stage(id, NEW).map(drop)),
        ("stage_generate", |km, id| {
            km.stage_generate(id, 32).map(drop)
        }),
        ("promote", |km, id| km.promote(id, NonZeroU32::MIN)),
        ("hmac", |km, id| {
            km.key(id)?.hmac(HashAlg::Sha256, b"m").map(drop)
        }),
        ("hmac_verify", |km, id| {
            km.key(id)?.hmac_verify(HashAlg::Sha256, b"m", &[0; 32])
        }),
        ("derive", |km, id| {
            let mut okm = [0u8; 16];
            km.key(id)?.derive(HashAlg::Sha256, b"", b"", &mut okm)
        }),
        ("hmac version 1", |km, id| {
            km.key(id)?.at(v(1)).hmac(HashAlg::Sha256, b"m").map(drop)
        }),
        ("derive version 1", |km, id| {
            let mut okm = [0u8; 16];
            km.key(id)?
                .at(v(1))
                .derive(HashAlg::Sha256, b"", b"", &mut okm)
        }),
        ("hmac_tagged", |km, id| {
            km.key(id)?.hmac_tagged(HashAlg::Sha256, b"m").map(drop)
        }),
        ("hmac_verify_tagged", verify_tagged),
        ("tagged_stream", |km, id| {
            km.key(id)?.tagged_stream(HashAlg::Sha256).map(drop)
        }),
        ("tagged_verifier", tagged_verifier),
    ]
}

/// Ids that break the key-id rule, each with why it is dangerous.
fn invalid_ids() -> Vec<(String, &'static str)> {
    let mut ids: Vec<(String, &'static str)> = [
        ("", "empty"),
        (".", "the directory itself"),
        ("..", "the parent"),
        ("../x", "traversal to a sibling key file"),
        ("../../etc/passwd", "deep traversal"),
        ("..\\x", "Windows traversal"),
        ("./x", "explicit current directory"),
        ("x/..", "traversal at the end"),
        ("a/b", "separator"),
        ("/abs", "absolute path"),
        ("/", "root"),
        ("a\\b", "backslash"),
        ("\\", "backslash alone"),
        ("a\0b", "NUL inside"),
        ("\0", "NUL alone"),
        ("x\0/../../y", "NUL hiding a traversal"),
        (" a", "leading space"),
        ("a ", "trailing space"),
        ("a b", "space inside"),
        ("a\tb", "tab"),
        ("\t", "tab alone"),
        ("a\nb", "newline"),
        ("a\n", "trailing newline"),
        ("a\rb", "carriage return"),
        ("a\x1b[31m", "terminal escape"),
        ("a\x7f", "DEL"),
        ("caf\u{e9}", "Latin-1 letter"),
        ("k\u{435}y", "Cyrillic e lookalike"),
        ("\u{ff4b}\u{ff45}\u{ff59}", "fullwidth lookalikes"),
        ("key\u{200b}", "zero-width space"),
        ("\u{202e}yek.exe", "right-to-left override"),
        ("\u{200f}key", "right-to-left mark"),
        ("key\u{2044}x", "fraction slash lookalike"),
        ("key\u{2215}x", "division slash lookalike"),
        ("key\u{ff0f}x", "fullwidth solidus"),
        ("\u{2024}\u{2024}", "one-dot leaders lookalike of .."),
        ("\u{1f511}", "emoji"),
        ("%2e%2e%2fx", "percent-encoded traversal"),
        ("%2F", "percent-encoded slash"),
        ("a%00b", "percent-encoded NUL"),
        ("~", "tilde"),
        ("~root", "home of another user"),
        ("$HOME", "shell variable"),
        ("*", "glob"),
        ("a?", "glob"),
        ("[a]", "glob class"),
        ("a:b", "colon"),
        ("a;b", "semicolon"),
        ("a|b", "pipe"),
        ("'a'", "quotes"),
        ("\"a\"", "double quotes"),
        ("`id`", "backticks"),
        ("a,b", "comma"),
        ("a+b", "plus"),
        ("a=b", "equals"),
        ("@a", "at"),
        (".hidden", "leading dot"),
        (".key", "leading dot, looks like a bare suffix"),
        (".lock", "the lock file"),
        (".versions", "the versions directory"),
        (".x.key.tmp", "a temporary file"),
    ]
    .into_iter()
    .map(|(id, why)| (id.to_owned(), why))
    .collect();
    ids.push(("k".repeat(129), "129 bytes"));
    ids.push(("k".repeat(256), "256 bytes"));
    ids.push(("k".repeat(4097), "longer than PATH_MAX"));
    ids.push((
        format!("{}\u{e9}", "k".repeat(126)),
        "128 bytes with a non-ASCII letter",
    ));
    ids
}

/// Ids that follow the rule, however odd.
fn valid_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        "a",
        "Z",
        "0",
        "-",
        "-rf",
        "--help",
        "_",
        "trailing.",
        "a.",
        "a..b",
        "x.key",
        "key.tmp",
        "lock",
        "versions",
        "CON",
        "nul",
        "a-b_c.d",
        "1.2.3",
        "x...",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    ids.push("k".repeat(128));
    ids.push(format!("-{}", "Z.".repeat(63) + "_"));
    ids
}

#[test]
fn key_ids_that_escape_or_confuse_are_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("keys");
    let km = KeyManager::open(&dir).unwrap();
    km.store("victim", V1).unwrap();
    km.rotate("victim", V2).unwrap();
    // Files a traversal would reach.
    write_file(&root.join("x.key"), OUTSIDE, 0o600);
    write_file(&root.join("y.key"), OUTSIDE, 0o600);
    std::fs::create_dir_all(root.join("etc")).unwrap();
    write_file(&root.join("etc/passwd.key"), OUTSIDE, 0o600);
    let before = snapshot(root);
    let ops = id_ops();
    let mut cases = 0;

    for (id, why) in invalid_ids() {
        for (name, op) in &ops {
            let err = op(&km, &id).expect_err(&format!("{name}({id:?}) [{why}] succeeded"));
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidKeyId,
                "{name}({id:?}) [{why}]: {}",
                err.message()
            );
            check_message(&err, &format!("{name}({id:?})"));
            cases += 1;
        }
    }
    assert_eq!(snapshot(root), before, "an invalid id changed something");
    assert_eq!(km.list().unwrap(), ["victim"]);
    assert_eq!(km.get("victim").unwrap().as_bytes(), V2);

    // Through the C functions, ids that are not even UTF-8.
    let c_dir = CString::new(dir.as_os_str().as_bytes()).unwrap();
    let mut handle: *mut codomyrmex_key_manager = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable out-pointer.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(c_dir.as_ptr(), &mut handle) },
        CODOMYRMEX_OK
    );
    let byte_ids: [&[u8]; 8] = [
        b"\xff",
        b"a\xffb",
        b"caf\xe9",
        b"\xc0\xae\xc0\xae/x",
        b"\xc0\xafetc",
        b"\xe2\x80\xaeyek",
        b"\xed\xa0\x80",
        b"k\xd0\xb5y",
    ];
    for id in byte_ids {
        let c_id = CString::new(id).unwrap();
        for (name, status) in c_calls(handle, &c_id) {
            assert_eq!(status, CODOMYRMEX_ERR_INVALID_KEY_ID, "C {name}({id:?})");
            let message = last_error();
            assert!(
                message.chars().all(|c| !c.is_control()) && !message.is_empty(),
                "C {name}({id:?}): {message:?}"
            );
            cases += 1;
        }
    }
    // SAFETY: the handle came from codomyrmex_key_manager_open, freed once.
    unsafe { codomyrmex_key_manager_free(handle) };
    assert_eq!(snapshot(root), before, "an invalid id changed something");

    // Odd but valid ids: the whole life of a key, and nothing but
    // `<id>.key` and its versions ever appears, inside the key directory.
    for id in valid_ids() {
        let v1 = format!("{MARK} first {id}");
        let v2 = format!("{MARK} second {id}");
        km.store(&id, v1.as_bytes()).unwrap();
        assert!(km.exists(&id).unwrap(), "{id}");
        assert_eq!(km.get(&id).unwrap().as_bytes(), v1.as_bytes(), "{id}");
        assert_eq!(km.list().unwrap(), {
            let mut l = vec![id.clone(), "victim".to_owned()];
            l.sort();
            l
        });
        assert_eq!(
            std::fs::read(dir.join(format!("{id}.key"))).unwrap(),
            v1.as_bytes()
        );
        let old = km.rotate(&id, v2.as_bytes()).unwrap().unwrap();
        assert_eq!(old.as_bytes(), v1.as_bytes());
        assert_eq!(version_list(&km, &id).unwrap(), [1, 2]);
        assert_eq!(
            version_bytes(&km, &id, 1).unwrap().as_bytes(),
            v1.as_bytes()
        );
        let key = km.key(&id).unwrap();
        let tag = key.hmac_tagged(HashAlg::Sha384, b"m").unwrap();
        key.hmac_verify_tagged(HashAlg::Sha384, b"m", tag.as_bytes())
            .unwrap();
        assert_eq!(
            kind(km.create(&id, b"again")),
            ErrorKind::AlreadyExists,
            "{id}"
        );
        let during = snapshot(root);
        for path in changed(&before, &during) {
            let rel = path.strip_prefix("keys").unwrap_or_else(|_| {
                panic!("{id}: changed {} outside the key directory", path.display())
            });
            let name = rel.to_string_lossy();
            assert!(
                name == format!("{id}.key")
                    || name == ".versions"
                    || name.starts_with(&format!(".versions/{id}")),
                "{id}: unexpected entry {name}"
            );
        }
        km.prune(&id, NonZeroU32::MIN).unwrap();
        assert_eq!(version_list(&km, &id).unwrap(), [2]);
        km.delete(&id).unwrap();
        assert!(!km.exists(&id).unwrap());
        assert_eq!(km.list().unwrap(), ["victim"]);
        cases += 12;
    }
    assert_eq!(
        changed(&before, &snapshot(root)),
        Vec::<PathBuf>::new(),
        "deleting every odd key leaves the tree as it was"
    );
    assert_eq!(km.get("victim").unwrap().as_bytes(), V2);
    println!(
        "hostile: {cases} key-id cases ran ({} invalid ids x {} operations, {} non-UTF-8 ids through C, {} valid ids through a whole life)",
        invalid_ids().len(),
        ops.len(),
        byte_ids.len(),
        valid_ids().len()
    );
}

/// The C key-manager calls that take a key id, with `id`.
fn c_calls(
    km: *mut codomyrmex_key_manager,
    id: &CString,
) -> Vec<(&'static str, codomyrmex_status)> {
    let id = id.as_ptr();
    let mut buf = [0u8; 128];
    let mut len = 0usize;
    let mut version = 0u32;
    let mut versions = [0u32; 4];
    let mut flag = false;
    // SAFETY: a live handle, a NUL-terminated id, buffers of their stated
    // capacities and writable out-pointers.
    unsafe {
        vec![
            (
                "store",
                codomyrmex_key_manager_store(km, id, NEW.as_ptr(), NEW.len()),
            ),
            (
                "create",
                codomyrmex_key_manager_create(km, id, NEW.as_ptr(), NEW.len()),
            ),
            ("generate", codomyrmex_key_manager_generate(km, id, 32)),
            (
                "get",
                codomyrmex_key_manager_get(km, id, buf.as_mut_ptr(), buf.len(), &mut len),
            ),
            ("exists", codomyrmex_key_manager_exists(km, id, &mut flag)),
            ("delete", codomyrmex_key_manager_delete(km, id)),
            (
                "rotate",
                codomyrmex_key_manager_rotate(
                    km,
                    id,
                    NEW.as_ptr(),
                    NEW.len(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "hmac",
                codomyrmex_key_manager_hmac(
                    km,
                    id,
                    1,
                    b"m".as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "derive",
                codomyrmex_key_manager_derive(
                    km,
                    id,
                    1,
                    std::ptr::null(),
                    0,
                    std::ptr::null(),
                    0,
                    buf.as_mut_ptr(),
                    16,
                ),
            ),
            (
                "current_version",
                codomyrmex_key_manager_current_version(km, id, &mut version),
            ),
            (
                "get_version",
                codomyrmex_key_manager_get_version(
                    km,
                    id,
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "list_versions",
                codomyrmex_key_manager_list_versions(
                    km,
                    id,
                    versions.as_mut_ptr(),
                    versions.len(),
                    &mut len,
                ),
            ),
            ("prune", codomyrmex_key_manager_prune(km, id, 1)),
            (
                "hmac_tagged",
                codomyrmex_key_manager_hmac_tagged(
                    km,
                    id,
                    1,
                    b"m".as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
        ]
    }
}
