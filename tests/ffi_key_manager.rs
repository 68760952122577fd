//! The C key manager called directly: opening, its directory, and storing,
//! reading, creating, listing, rotating and deleting keys. Every failing
//! call is checked to leave its out-parameters (pre-filled with sentinels)
//! and the key directory as they were.

mod common;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_create, codomyrmex_key_manager_delete,
    codomyrmex_key_manager_dir, codomyrmex_key_manager_exists, codomyrmex_key_manager_free,
    codomyrmex_key_manager_generate, codomyrmex_key_manager_get, codomyrmex_key_manager_list,
    codomyrmex_key_manager_open, codomyrmex_key_manager_rotate, codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::library::CODOMYRMEX_MAX_KEY_LEN;
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use common::ffi::{FILL, Km, LEN_SENTINEL, c, last_error, untouched};
use common::snapshot;
use std::ffi::{CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::ptr;

// ---------------------------------------------------------------------------
// Key manager.

#[test]
fn key_manager_open_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let sentinel: *mut codomyrmex_key_manager = ptr::without_provenance_mut(0x2000);
    let open = |path: &Path, out: *mut *mut codomyrmex_key_manager| {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; `out` writable or NULL (refused).
        unsafe { codomyrmex_key_manager_open(path.as_ptr(), out) }
    };

    // NULL out_km: refused before anything is created.
    let dir = tmp.path().join("never");
    assert_eq!(open(&dir, ptr::null_mut()), CODOMYRMEX_ERR_NULL_POINTER);
    assert!(!dir.exists(), "a failed open created the directory");

    // Empty path.
    let mut km = sentinel;
    // SAFETY: an empty NUL-terminated string.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(c"".as_ptr(), &mut km) },
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    assert_eq!(km, sentinel);

    // A regular file where the directory should be.
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(open(&file, &mut km), CODOMYRMEX_ERR_IO);
    assert_eq!(km, sentinel);
    let message = last_error();
    assert!(message.contains("ENOTDIR"), "names the errno: {message:?}");
    assert!(
        message.contains(file.to_str().unwrap()),
        "names the path: {message:?}"
    );

    // A path with a line break still gives a one-line message.
    let odd_file = tmp.path().join("line\nbreak");
    std::fs::write(&odd_file, b"x").unwrap();
    assert_eq!(open(&odd_file, &mut km), CODOMYRMEX_ERR_IO);
    let message = last_error();
    assert!(!message.contains(['\n', '\r']), "one line: {message:?}");
    assert!(message.contains("line break"), "{message:?}");

    // A symbolic link to a good directory.
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(open(&link, &mut km), CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    assert_eq!(km, sentinel);

    // Group- or world-writable.
    for mode in [0o777, 0o770, 0o720, 0o702] {
        let dir = tmp.path().join(format!("mode{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(
            open(&dir, &mut km),
            CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
            "mode {mode:o}"
        );
        assert_eq!(km, sentinel);
        assert!(
            std::fs::read_dir(&dir).unwrap().next().is_none(),
            "nothing created inside"
        );
    }

    // Missing parents are created, all private.
    let nested = tmp.path().join("a/b/c");
    let mut km = ptr::null_mut();
    assert_eq!(open(&nested, &mut km), CODOMYRMEX_OK);
    assert!(!km.is_null());
    for dir in ["a", "a/b", "a/b/c"] {
        let mode = std::fs::metadata(tmp.path().join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o700, "{dir}");
    }
    // SAFETY: a live handle freed once; NULL is a no-op.
    unsafe {
        codomyrmex_key_manager_free(km);
        codomyrmex_key_manager_free(ptr::null_mut());
    }

    // A path that is not UTF-8 is still a path.
    let raw = std::ffi::OsStr::from_bytes(b"k\xffeys");
    let odd = tmp.path().join(raw);
    let mut km = ptr::null_mut();
    assert_eq!(open(&odd, &mut km), CODOMYRMEX_OK, "{}", last_error());
    assert!(odd.is_dir());
    let mut buf = [0 as c_char; 4096];
    let mut len = 0;
    // SAFETY: a live handle and a buffer of its capacity; freed once.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), buf.len(), &mut len),
            CODOMYRMEX_OK
        );
        codomyrmex_key_manager_free(km);
    }
    let got: Vec<u8> = buf[..len - 1].iter().map(|&b| b as u8).collect();
    let expected = std::fs::canonicalize(&odd).unwrap();
    assert_eq!(got, expected.as_os_str().as_bytes());
}

#[test]
fn key_manager_dir_counts_the_nul() {
    let tmp = tempfile::tempdir().unwrap();
    // A path with a `..` in it resolves to the real directory.
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let given = tmp.path().join("sub/../keys");
    let expected = std::fs::canonicalize(tmp.path()).unwrap().join("keys");
    let path = CString::new(given.as_os_str().as_bytes()).unwrap();
    let mut km = ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable out-pointer.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(path.as_ptr(), &mut km) },
        CODOMYRMEX_OK
    );
    let expected = expected.as_os_str().as_bytes();
    let needed = expected.len() + 1;

    // SAFETY (all calls): a live handle; buffers valid for their capacities;
    // NULL pointers refused.
    unsafe {
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, ptr::null_mut(), 0, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, needed, "*out_len counts the NUL");

        let mut buf = vec![FILL as c_char; needed + 8];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), needed - 1, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            "room for the path but not its NUL"
        );
        assert_eq!(len, needed);
        assert!(buf.iter().all(|&b| b as u8 == FILL));

        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), needed, &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, needed);
        let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
        assert_eq!(&bytes[..needed - 1], expected);
        assert_eq!(bytes[needed - 1], 0);
        assert!(untouched(&bytes[needed..]));

        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(ptr::null(), buf.as_mut_ptr(), buf.len(), &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_key_manager_dir(km, ptr::null_mut(), 10, &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), buf.len(), ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(len, LEN_SENTINEL);
        codomyrmex_key_manager_free(km);
    }
}

#[test]
fn store_get_exists_delete_round_trip() {
    let km = Km::new();
    let id = c("alpha");
    let key: Vec<u8> = (0..40).collect();
    assert!(!km.exists("alpha"));
    assert_eq!(km.get("alpha"), Err(CODOMYRMEX_ERR_NOT_FOUND));
    assert_eq!(km.store("alpha", &key), CODOMYRMEX_OK);
    assert!(km.exists("alpha"));

    // SAFETY (all calls): a live handle, a NUL-terminated id, buffers valid
    // for their capacities.
    unsafe {
        // Size query and small buffer.
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), ptr::null_mut(), 0, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 40);
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), out.as_mut_ptr(), 39, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 40);
        assert!(untouched(&out));
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), out.as_mut_ptr(), out.len(), &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, 40);
        assert_eq!(&out[..40], &key[..]);
        assert!(untouched(&out[40..]));

        // Key lengths: 0 and MAX + 1 are refused; 1 and MAX are stored.
        let big = vec![0x33u8; CODOMYRMEX_MAX_KEY_LEN + 1];
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), ptr::null(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), big.len()),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            km.get("alpha").unwrap(),
            key,
            "refused stores left the key alone"
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), CODOMYRMEX_MAX_KEY_LEN),
            CODOMYRMEX_OK
        );
        assert_eq!(km.get("alpha").unwrap(), &big[..CODOMYRMEX_MAX_KEY_LEN]);
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), b"z".as_ptr(), 1),
            CODOMYRMEX_OK
        );
        assert_eq!(km.get("alpha").unwrap(), b"z");

        // Delete, then it is gone.
        assert_eq!(
            codomyrmex_key_manager_delete(km.ptr, id.as_ptr()),
            CODOMYRMEX_OK
        );
        assert!(!km.exists("alpha"));
        assert_eq!(km.get("alpha"), Err(CODOMYRMEX_ERR_NOT_FOUND));
        assert_eq!(
            codomyrmex_key_manager_delete(km.ptr, id.as_ptr()),
            CODOMYRMEX_ERR_NOT_FOUND
        );

        // Errors of exists leave *out_exists alone.
        let dir_id = c("adir");
        std::fs::create_dir(km.dir.join("adir.key")).unwrap();
        for prefill in [true, false] {
            let mut exists = prefill;
            assert_eq!(
                codomyrmex_key_manager_exists(km.ptr, dir_id.as_ptr(), &mut exists),
                CODOMYRMEX_ERR_CORRUPT
            );
            assert_eq!(exists, prefill);
        }
    }
}

#[test]
fn create_and_generate_never_replace() {
    let km = Km::new();
    let id = c("once");
    // SAFETY (all calls): a live handle, NUL-terminated ids, valid slices.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, id.as_ptr(), b"first".as_ptr(), 5),
            CODOMYRMEX_OK
        );
        let before = snapshot(km.root());
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, id.as_ptr(), b"second".as_ptr(), 6),
            CODOMYRMEX_ERR_ALREADY_EXISTS
        );
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, id.as_ptr(), 32),
            CODOMYRMEX_ERR_ALREADY_EXISTS
        );
        assert_eq!(snapshot(km.root()), before);
        assert_eq!(km.get("once").unwrap(), b"first");

        let gen_id = c("generated");
        for bad_len in [0, CODOMYRMEX_MAX_KEY_LEN + 1] {
            assert_eq!(
                codomyrmex_key_manager_generate(km.ptr, gen_id.as_ptr(), bad_len),
                CODOMYRMEX_ERR_INVALID_ARGUMENT
            );
        }
        assert!(!km.exists("generated"));
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, gen_id.as_ptr(), ptr::null(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(!km.exists("generated"));
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, gen_id.as_ptr(), 48),
            CODOMYRMEX_OK
        );
        let generated = km.get("generated").unwrap();
        assert_eq!(generated.len(), 48);
        assert_ne!(generated, vec![0u8; 48]);
        let other_id = c("generated2");
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, other_id.as_ptr(), 48),
            CODOMYRMEX_OK
        );
        assert_ne!(
            km.get("generated2").unwrap(),
            generated,
            "independent random keys"
        );
    }
}

#[test]
fn list_is_sorted_nul_separated_and_counted() {
    let km = Km::new();
    assert_eq!(km.list(), (Vec::new(), 0));
    let ids = [
        "b", "a", "B", "a.b", "a-b", "a_b", "0", "Z", "a", "ab", "A9",
    ];
    for id in ids {
        assert_eq!(km.store(id, id.as_bytes()), CODOMYRMEX_OK);
    }
    // Bytewise: '-' < '.' < digits < upper case < '_' < lower case.
    let expected_order = ["0", "A9", "B", "Z", "a", "a-b", "a.b", "a_b", "ab", "b"];
    let mut expected = Vec::new();
    for id in expected_order {
        expected.extend_from_slice(id.as_bytes());
        expected.push(0);
    }
    let (bytes, count) = km.list();
    assert_eq!(count, expected_order.len());
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&expected),
        "each id followed by one NUL, sorted"
    );

    // One byte short: BUFFER_TOO_SMALL, buffer untouched, count untouched.
    let mut buf = vec![FILL as c_char; expected.len()];
    let mut len = LEN_SENTINEL;
    let mut count = LEN_SENTINEL;
    // SAFETY: a live handle and a buffer of at least the given capacity.
    let status = unsafe {
        codomyrmex_key_manager_list(
            km.ptr,
            buf.as_mut_ptr(),
            expected.len() - 1,
            &mut len,
            &mut count,
        )
    };
    assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, expected.len(), "*out_len counts the NULs");
    assert_eq!(count, LEN_SENTINEL);
    assert!(buf.iter().all(|&b| b as u8 == FILL));

    // A larger buffer: only the listing is written.
    let mut buf = vec![FILL as c_char; expected.len() + 10];
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_list(km.ptr, buf.as_mut_ptr(), buf.len(), &mut len, &mut count)
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!((len, count), (expected.len(), expected_order.len()));
    let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
    assert_eq!(&bytes[..len], &expected[..]);
    assert!(untouched(&bytes[len..]));
}

#[test]
fn rotate_buffer_too_small_changes_nothing_on_disk() {
    let km = Km::new();
    let id = c("rot");
    let old: Vec<u8> = (100..140).collect();
    let new = b"the new key".to_vec();
    assert_eq!(km.store("rot", &old), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let rotate = |new_key: &[u8], out: *mut u8, cap: usize, len: *mut usize| {
        // SAFETY: a live handle, a NUL-terminated id, buffers valid for their
        // capacities or NULL (with capacity 0, or refused).
        unsafe {
            codomyrmex_key_manager_rotate(
                km.ptr,
                id.as_ptr(),
                new_key.as_ptr(),
                new_key.len(),
                out,
                cap,
                len,
            )
        }
    };

    // Size query.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, ptr::null_mut(), 0, &mut len),
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, old.len());
    assert_eq!(snapshot(km.root()), before, "a size query changes nothing");

    // One byte short.
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, out.as_mut_ptr(), old.len() - 1, &mut len),
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, old.len());
    assert!(untouched(&out));
    assert_eq!(
        snapshot(km.root()),
        before,
        "BUFFER_TOO_SMALL changes nothing"
    );

    // Other failures change nothing either.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&[], out.as_mut_ptr(), 64, &mut len),
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    let too_long = vec![1u8; CODOMYRMEX_MAX_KEY_LEN + 1];
    assert_eq!(
        rotate(&too_long, out.as_mut_ptr(), 64, &mut len),
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    assert_eq!(len, LEN_SENTINEL);
    assert!(untouched(&out));
    assert_eq!(snapshot(km.root()), before);
    assert_eq!(km.get("rot").unwrap(), old);

    // Exactly enough room: the old key comes back, the new one is stored.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, out.as_mut_ptr(), old.len(), &mut len),
        CODOMYRMEX_OK
    );
    assert_eq!(len, old.len());
    assert_eq!(&out[..len], &old[..]);
    assert!(untouched(&out[len..]));
    assert_eq!(km.get("rot").unwrap(), new);

    // No previous key: *old_len is 0 and the new key is stored all the same,
    // even with a (NULL, 0) buffer.
    let fresh = c("fresh");
    let mut len = LEN_SENTINEL;
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_rotate(
            km.ptr,
            fresh.as_ptr(),
            new.as_ptr(),
            new.len(),
            ptr::null_mut(),
            0,
            &mut len,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!(len, 0);
    assert_eq!(km.get("fresh").unwrap(), new);
}
