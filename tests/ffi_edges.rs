//! Every C key-manager function at its edges: each required pointer NULL
//! in turn, and key ids that break the rule. Each failing call leaves its
//! out-parameters (pre-filled with sentinels) and the key directory as they
//! were.

mod common;

use codomyrmex_keys::ffi::alg::CODOMYRMEX_SHA256;
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_create, codomyrmex_key_manager_delete,
    codomyrmex_key_manager_derive, codomyrmex_key_manager_dir, codomyrmex_key_manager_exists,
    codomyrmex_key_manager_generate, codomyrmex_key_manager_get, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_hmac_verify, codomyrmex_key_manager_list, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use common::ffi::{FILL, Km, LEN_SENTINEL, c, last_error, untouched};
use common::snapshot;
use std::ffi::{CString, c_char};
use std::ptr;

#[test]
fn key_manager_null_pointers_are_refused_and_change_nothing() {
    let km = Km::new();
    assert_eq!(km.store("present", b"0123456789"), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let id = c("present");
    let new_id = c("fresh");
    let key = b"new key bytes";
    let data = b"data";
    let mut out = [FILL; 128];
    let mut len = LEN_SENTINEL;
    let mut count = LEN_SENTINEL;
    let mut exists = true;
    let null_km: *const codomyrmex_key_manager = ptr::null();
    let null_id: *const c_char = ptr::null();
    let k = km.ptr.cast_const();
    let alg = CODOMYRMEX_SHA256;

    // SAFETY (every call): live handle or NULL; NUL-terminated ids or NULL;
    // buffers valid for their capacities; NULL with a length is refused.
    let results: Vec<(&str, codomyrmex_status)> = unsafe {
        vec![
            (
                "store km",
                codomyrmex_key_manager_store(null_km, new_id.as_ptr(), key.as_ptr(), key.len()),
            ),
            (
                "store id",
                codomyrmex_key_manager_store(k, null_id, key.as_ptr(), key.len()),
            ),
            (
                "store key",
                codomyrmex_key_manager_store(k, new_id.as_ptr(), ptr::null(), 4),
            ),
            (
                "create km",
                codomyrmex_key_manager_create(null_km, new_id.as_ptr(), key.as_ptr(), key.len()),
            ),
            (
                "create id",
                codomyrmex_key_manager_create(k, null_id, key.as_ptr(), key.len()),
            ),
            (
                "create key",
                codomyrmex_key_manager_create(k, new_id.as_ptr(), ptr::null(), 4),
            ),
            (
                "generate km",
                codomyrmex_key_manager_generate(null_km, new_id.as_ptr(), 32),
            ),
            (
                "generate id",
                codomyrmex_key_manager_generate(k, null_id, 32),
            ),
            (
                "get km",
                codomyrmex_key_manager_get(null_km, id.as_ptr(), out.as_mut_ptr(), 128, &mut len),
            ),
            (
                "get id",
                codomyrmex_key_manager_get(k, null_id, out.as_mut_ptr(), 128, &mut len),
            ),
            (
                "get out",
                codomyrmex_key_manager_get(k, id.as_ptr(), ptr::null_mut(), 128, &mut len),
            ),
            (
                "get len",
                codomyrmex_key_manager_get(k, id.as_ptr(), out.as_mut_ptr(), 128, ptr::null_mut()),
            ),
            (
                "exists km",
                codomyrmex_key_manager_exists(null_km, id.as_ptr(), &mut exists),
            ),
            (
                "exists id",
                codomyrmex_key_manager_exists(k, null_id, &mut exists),
            ),
            (
                "exists out",
                codomyrmex_key_manager_exists(k, id.as_ptr(), ptr::null_mut()),
            ),
            (
                "delete km",
                codomyrmex_key_manager_delete(null_km, id.as_ptr()),
            ),
            ("delete id", codomyrmex_key_manager_delete(k, null_id)),
            (
                "list km",
                codomyrmex_key_manager_list(
                    null_km,
                    out.as_mut_ptr().cast(),
                    128,
                    &mut len,
                    &mut count,
                ),
            ),
            (
                "list buf",
                codomyrmex_key_manager_list(k, ptr::null_mut(), 128, &mut len, &mut count),
            ),
            (
                "list len",
                codomyrmex_key_manager_list(
                    k,
                    out.as_mut_ptr().cast(),
                    128,
                    ptr::null_mut(),
                    &mut count,
                ),
            ),
            (
                "list count",
                codomyrmex_key_manager_list(
                    k,
                    out.as_mut_ptr().cast(),
                    128,
                    &mut len,
                    ptr::null_mut(),
                ),
            ),
            (
                "list count (size query)",
                codomyrmex_key_manager_list(k, ptr::null_mut(), 0, &mut len, ptr::null_mut()),
            ),
            (
                "rotate km",
                codomyrmex_key_manager_rotate(
                    null_km,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate id",
                codomyrmex_key_manager_rotate(
                    k,
                    null_id,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate key",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    ptr::null(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate out",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    ptr::null_mut(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate len",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    ptr::null_mut(),
                ),
            ),
            (
                "hmac km",
                codomyrmex_key_manager_hmac(
                    null_km,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac id",
                codomyrmex_key_manager_hmac(
                    k,
                    null_id,
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac data",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac out",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    ptr::null_mut(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac len",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    ptr::null_mut(),
                ),
            ),
            (
                "hmac_verify km",
                codomyrmex_key_manager_hmac_verify(
                    null_km,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify id",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    null_id,
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify data",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify mac",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    ptr::null(),
                    32,
                ),
            ),
            (
                "derive km",
                codomyrmex_key_manager_derive(
                    null_km,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive id",
                codomyrmex_key_manager_derive(
                    k,
                    null_id,
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive salt",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    3,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive info",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    3,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive out",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                    32,
                ),
            ),
            (
                "dir km",
                codomyrmex_key_manager_dir(null_km, out.as_mut_ptr().cast(), 128, &mut len),
            ),
        ]
    };
    for (what, status) in results {
        assert_eq!(
            status,
            CODOMYRMEX_ERR_NULL_POINTER,
            "{what}: {}",
            last_error()
        );
    }
    assert!(untouched(&out), "no output written");
    assert_eq!(len, LEN_SENTINEL);
    assert_eq!(count, LEN_SENTINEL);
    assert!(exists, "out_exists unchanged");
    assert_eq!(snapshot(km.root()), before, "nothing changed on disk");
}

#[test]
fn invalid_key_ids_are_refused_by_every_function() {
    let km = Km::new();
    assert_eq!(km.store("good", b"key"), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let long = "k".repeat(129);
    let mut bad: Vec<Vec<u8>> = [
        "",
        ".",
        "..",
        "../x",
        "../good",
        "a/b",
        "/abs",
        "a\\b",
        " a",
        "a ",
        "a b",
        "é",
        ".hidden",
        ".good",
        "good.key/..",
        "*",
        "a:b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bad.push(long.into_bytes());
    bad.push(vec![b'a', 0xff]);
    let alg = CODOMYRMEX_SHA256;
    for id in bad {
        let shown = String::from_utf8_lossy(&id).into_owned();
        let id = CString::new(id).unwrap();
        let id = id.as_ptr();
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        let mut exists = true;
        let k = km.ptr.cast_const();
        let key = b"value";
        // SAFETY (every call): a live handle, a NUL-terminated id, buffers
        // valid for their capacities.
        let results = unsafe {
            [
                codomyrmex_key_manager_store(k, id, key.as_ptr(), key.len()),
                codomyrmex_key_manager_create(k, id, key.as_ptr(), key.len()),
                codomyrmex_key_manager_generate(k, id, 16),
                codomyrmex_key_manager_get(k, id, out.as_mut_ptr(), out.len(), &mut len),
                codomyrmex_key_manager_exists(k, id, &mut exists),
                codomyrmex_key_manager_delete(k, id),
                codomyrmex_key_manager_rotate(
                    k,
                    id,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
                codomyrmex_key_manager_hmac(
                    k,
                    id,
                    alg,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id,
                    alg,
                    key.as_ptr(),
                    key.len(),
                    out.as_ptr(),
                    32,
                ),
                codomyrmex_key_manager_derive(
                    k,
                    id,
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ]
        };
        for (i, status) in results.into_iter().enumerate() {
            assert_eq!(
                status, CODOMYRMEX_ERR_INVALID_KEY_ID,
                "id {shown:?}, call #{i}"
            );
        }
        assert!(untouched(&out), "id {shown:?}");
        assert_eq!(len, LEN_SENTINEL, "id {shown:?}");
        assert!(exists, "id {shown:?}");
    }
    assert_eq!(
        snapshot(km.root()),
        before,
        "nothing created, changed or removed"
    );
    assert_eq!(km.get("good").unwrap(), b"key");
}
