//! The C functions on key versions called directly: version 0 as the
//! current one, the buffer rule of `get_version` and `list_versions`,
//! pruning, staged rotation, and MACs and keys of a chosen version. Every
//! failing call is checked to leave its out-parameters (pre-filled with
//! sentinels) as they were.

mod common;

use codomyrmex_keys::ffi::alg::{CODOMYRMEX_SHA256, CODOMYRMEX_SHA512};
use codomyrmex_keys::ffi::key_manager::{
    CODOMYRMEX_TAG_OVERHEAD, codomyrmex_key_manager_current_version,
    codomyrmex_key_manager_derive_version, codomyrmex_key_manager_get_version,
    codomyrmex_key_manager_hmac_tagged, codomyrmex_key_manager_hmac_verify_tagged,
    codomyrmex_key_manager_hmac_version, codomyrmex_key_manager_list_versions,
    codomyrmex_key_manager_promote, codomyrmex_key_manager_prune, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_stage, codomyrmex_key_manager_stage_generate,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{HashAlg, hkdf_derive};
use common::ffi::{FILL, Km, LEN_SENTINEL, c, c_hmac, last_error, untouched};
use std::ptr;

const V1: &[u8] = b"version one";
const V2: &[u8] = b"version two, longer";
const V3: &[u8] = b"version three";

/// A key manager holding "k" at version 3 (versions 1 and 2 kept).
fn three_versions() -> Km {
    let km = Km::new();
    assert_eq!(km.store("k", V1), CODOMYRMEX_OK);
    assert_eq!(km.store("k", V2), CODOMYRMEX_OK);
    assert_eq!(km.store("k", V3), CODOMYRMEX_OK);
    km
}

/// The version calls on a [`Km`], returning the status with the output.
impl Km {
    /// Version `version` of `id` into a buffer of `cap` bytes.
    fn get_version(
        &self,
        id: &str,
        version: u32,
        cap: usize,
    ) -> (codomyrmex_status, Vec<u8>, usize) {
        let id = c(id);
        let mut out = vec![FILL; cap];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live handle, a NUL-terminated id, a buffer of `cap`
        // bytes (NULL when 0).
        let status = unsafe {
            let out_ptr = if cap == 0 {
                ptr::null_mut()
            } else {
                out.as_mut_ptr()
            };
            codomyrmex_key_manager_get_version(
                self.ptr,
                id.as_ptr(),
                version,
                out_ptr,
                cap,
                &mut len,
            )
        };
        (status, out, len)
    }

    /// The version numbers of `id` into room for `cap` of them.
    fn list_versions(&self, id: &str, cap: usize) -> (codomyrmex_status, Vec<u32>, usize) {
        let id = c(id);
        let mut out = vec![0xEEEE_EEEE; cap];
        let mut len = LEN_SENTINEL;
        // SAFETY: as above, with `cap` entries.
        let status = unsafe {
            let out_ptr = if cap == 0 {
                ptr::null_mut()
            } else {
                out.as_mut_ptr()
            };
            codomyrmex_key_manager_list_versions(self.ptr, id.as_ptr(), out_ptr, cap, &mut len)
        };
        (status, out, len)
    }

    /// The current version of `id`, or the failure's status.
    fn current(&self, id: &str) -> Result<u32, codomyrmex_status> {
        let id = c(id);
        let mut version = 0xEEEE;
        // SAFETY: a live handle, a NUL-terminated id, a writable u32.
        let status =
            unsafe { codomyrmex_key_manager_current_version(self.ptr, id.as_ptr(), &mut version) };
        match status {
            CODOMYRMEX_OK => Ok(version),
            failed => {
                assert_eq!(version, 0xEEEE, "out_version unchanged on error");
                Err(failed)
            }
        }
    }

    /// A tagged MAC of `data` with the current version of `id`.
    fn tagged(&self, id: &str, data: &[u8]) -> Vec<u8> {
        let id = c(id);
        let mut out = [FILL; CODOMYRMEX_TAG_OVERHEAD + 64];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live handle, a NUL-terminated id, valid buffers.
        let status = unsafe {
            codomyrmex_key_manager_hmac_tagged(
                self.ptr,
                id.as_ptr(),
                CODOMYRMEX_SHA512,
                data.as_ptr(),
                data.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK, "{}", last_error());
        out[..len].to_vec()
    }

    /// Whether `tag` verifies for `data` under `id`.
    fn verify_tagged(&self, id: &str, data: &[u8], tag: &[u8]) -> codomyrmex_status {
        let id = c(id);
        // SAFETY: a live handle, a NUL-terminated id, valid slices.
        unsafe {
            codomyrmex_key_manager_hmac_verify_tagged(
                self.ptr,
                id.as_ptr(),
                CODOMYRMEX_SHA512,
                data.as_ptr(),
                data.len(),
                tag.as_ptr(),
                tag.len(),
            )
        }
    }
}

#[test]
fn version_zero_is_the_current_one_and_every_version_reads_back() {
    let km = three_versions();
    assert_eq!(km.current("k"), Ok(3));
    assert_eq!(km.current("missing"), Err(CODOMYRMEX_ERR_NOT_FOUND));
    for (version, expected) in [(0, V3), (1, V1), (2, V2), (3, V3)] {
        let (status, out, len) = km.get_version("k", version, 64);
        assert_eq!(status, CODOMYRMEX_OK, "version {version}");
        assert_eq!(&out[..len], expected, "version {version}");
        assert!(untouched(&out[len..]));
    }
    for version in [4, 99, u32::MAX] {
        let (status, out, len) = km.get_version("k", version, 64);
        assert_eq!(status, CODOMYRMEX_ERR_NOT_FOUND, "version {version}");
        assert!(
            last_error().contains(&version.to_string()),
            "{}",
            last_error()
        );
        assert!(untouched(&out) && len == LEN_SENTINEL);
    }
    // The buffer rule: a size query, one byte short, exactly enough.
    let (status, _, len) = km.get_version("k", 2, 0);
    assert_eq!((status, len), (CODOMYRMEX_ERR_BUFFER_TOO_SMALL, V2.len()));
    let (status, out, len) = km.get_version("k", 2, V2.len() - 1);
    assert_eq!((status, len), (CODOMYRMEX_ERR_BUFFER_TOO_SMALL, V2.len()));
    assert!(untouched(&out));
    let (status, out, len) = km.get_version("k", 2, V2.len());
    assert_eq!((status, len), (CODOMYRMEX_OK, V2.len()));
    assert_eq!(out, V2);
}

#[test]
fn list_versions_follows_the_buffer_rule_and_prune_keeps_the_newest() {
    let km = three_versions();
    let (status, _, len) = km.list_versions("k", 0);
    assert_eq!((status, len), (CODOMYRMEX_ERR_BUFFER_TOO_SMALL, 3));
    let (status, out, len) = km.list_versions("k", 2);
    assert_eq!((status, len), (CODOMYRMEX_ERR_BUFFER_TOO_SMALL, 3));
    assert_eq!(out, [0xEEEE_EEEE; 2], "nothing written");
    let (status, out, len) = km.list_versions("k", 4);
    assert_eq!((status, len), (CODOMYRMEX_OK, 3));
    assert_eq!(out, [1, 2, 3, 0xEEEE_EEEE]);

    // SAFETY: a live handle and NUL-terminated ids.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_prune(km.ptr, c"k".as_ptr(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("keep_newest"), "{}", last_error());
        assert_eq!(
            codomyrmex_key_manager_prune(km.ptr, c"missing".as_ptr(), 1),
            CODOMYRMEX_ERR_NOT_FOUND
        );
        assert_eq!(
            codomyrmex_key_manager_prune(km.ptr, c"k".as_ptr(), 2),
            CODOMYRMEX_OK
        );
    }
    let (_, out, len) = km.list_versions("k", 4);
    assert_eq!(&out[..len], [2, 3]);
    assert_eq!(km.get_version("k", 1, 64).0, CODOMYRMEX_ERR_NOT_FOUND);
    // SAFETY: as above.
    let status = unsafe { codomyrmex_key_manager_prune(km.ptr, c"k".as_ptr(), u32::MAX) };
    assert_eq!(status, CODOMYRMEX_OK, "keeping more than there are");
    assert_eq!(km.list_versions("k", 4).2, 2);
}

#[test]
fn staged_versions_verify_before_they_sign() {
    let km = three_versions();
    let before = km.tagged("k", b"m");
    let mut staged = 0xEEEE;
    // SAFETY: a live handle, NUL-terminated ids, valid slices and
    // out-pointers.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_stage(km.ptr, c"missing".as_ptr(), V1.as_ptr(), 1, &mut staged),
            CODOMYRMEX_ERR_NOT_FOUND
        );
        assert_eq!(staged, 0xEEEE);
        assert_eq!(
            codomyrmex_key_manager_stage(km.ptr, c"k".as_ptr(), V1.as_ptr(), 0, &mut staged),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().starts_with("key_len: "), "{}", last_error());
        assert_eq!(
            codomyrmex_key_manager_stage_generate(km.ptr, c"k".as_ptr(), 48, &mut staged),
            CODOMYRMEX_OK
        );
    }
    assert_eq!(staged, 4);
    assert_eq!(km.current("k"), Ok(3), "a staged version is not current");
    let (_, out, len) = km.list_versions("k", 8);
    assert_eq!(&out[..len], [1, 2, 3, 4]);
    let (status, new_key, new_len) = km.get_version("k", 4, 64);
    assert_eq!((status, new_len), (CODOMYRMEX_OK, 48));
    let new_key = &new_key[..48];
    // Tags are still made with version 3; one made with the staged key
    // verifies already.
    assert_eq!(km.tagged("k", b"m"), before);
    let mut by_staged = vec![0x01, 0, 0, 0, 4];
    by_staged.extend(c_hmac(CODOMYRMEX_SHA512, new_key, b"m"));
    assert_eq!(km.verify_tagged("k", b"m", &by_staged), CODOMYRMEX_OK);

    // SAFETY: as above.
    unsafe {
        for bad in [0, 3, 5] {
            assert_eq!(
                codomyrmex_key_manager_promote(km.ptr, c"k".as_ptr(), bad),
                CODOMYRMEX_ERR_NOT_FOUND,
                "version {bad} is not staged"
            );
        }
        assert_eq!(
            codomyrmex_key_manager_promote(km.ptr, c"k".as_ptr(), 4),
            CODOMYRMEX_OK
        );
    }
    assert_eq!(km.current("k"), Ok(4));
    assert_eq!(km.get("k").unwrap(), new_key);
    assert_eq!(km.tagged("k", b"m"), by_staged);
    assert_eq!(km.verify_tagged("k", b"m", &before), CODOMYRMEX_OK);
}

#[test]
fn macs_and_keys_of_a_chosen_version() {
    let km = three_versions();
    for (version, key) in [(0, V3), (1, V1), (2, V2), (3, V3)] {
        let mut mac = [FILL; 64];
        let mut len = LEN_SENTINEL;
        let mut okm = [FILL; 40];
        // SAFETY: a live handle, NUL-terminated ids, valid buffers.
        unsafe {
            let status = codomyrmex_key_manager_hmac_version(
                km.ptr,
                c"k".as_ptr(),
                version,
                CODOMYRMEX_SHA256,
                b"data".as_ptr(),
                4,
                mac.as_mut_ptr(),
                mac.len(),
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_OK, "{}", last_error());
            let status = codomyrmex_key_manager_derive_version(
                km.ptr,
                c"k".as_ptr(),
                version,
                CODOMYRMEX_SHA256,
                b"salt".as_ptr(),
                4,
                b"info".as_ptr(),
                4,
                okm.as_mut_ptr(),
                okm.len(),
            );
            assert_eq!(status, CODOMYRMEX_OK, "{}", last_error());
        }
        assert_eq!(&mac[..len], c_hmac(CODOMYRMEX_SHA256, key, b"data"));
        let mut expected = [0u8; 40];
        hkdf_derive(HashAlg::Sha256, key, b"salt", b"info", &mut expected).unwrap();
        assert_eq!(okm, expected, "version {version}");
    }
    // A version that is gone: NOT_FOUND, outputs untouched.
    let mut okm = [FILL; 16];
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_derive_version(
            km.ptr,
            c"k".as_ptr(),
            7,
            CODOMYRMEX_SHA256,
            ptr::null(),
            0,
            ptr::null(),
            0,
            okm.as_mut_ptr(),
            okm.len(),
        )
    };
    assert_eq!(status, CODOMYRMEX_ERR_NOT_FOUND);
    assert!(untouched(&okm));

    // Tagged MACs name their version and keep verifying after a rotation.
    let tag = km.tagged("k", b"archived");
    assert_eq!(tag.len(), CODOMYRMEX_TAG_OVERHEAD + 64);
    assert_eq!(&tag[..5], [1, 0, 0, 0, 3]);
    let mut old = [0u8; 64];
    let mut old_len = 0;
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_rotate(
            km.ptr,
            c"k".as_ptr(),
            b"four".as_ptr(),
            4,
            old.as_mut_ptr(),
            old.len(),
            &mut old_len,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!(&old[..old_len], V3);
    assert_eq!(km.verify_tagged("k", b"archived", &tag), CODOMYRMEX_OK);
    let mut forged = tag.clone();
    forged[4] = 2;
    assert_eq!(
        km.verify_tagged("k", b"archived", &forged),
        CODOMYRMEX_ERR_VERIFY_FAILED
    );
    assert_eq!(
        km.verify_tagged("missing", b"archived", &tag),
        CODOMYRMEX_ERR_NOT_FOUND
    );
}
