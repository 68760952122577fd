//! Calling the C functions from Rust: sentinels that show an output was
//! not written, the calling thread's last error, a key manager opened
//! through the C API on a fresh directory, and the C one-shot HMAC.

use codomyrmex_keys::HashAlg;
use codomyrmex_keys::ffi::alg::{
    CODOMYRMEX_SHA256, CODOMYRMEX_SHA384, CODOMYRMEX_SHA512, codomyrmex_hash_alg,
};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_exists, codomyrmex_key_manager_free,
    codomyrmex_key_manager_get, codomyrmex_key_manager_list, codomyrmex_key_manager_open,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::library::{CODOMYRMEX_MAX_KEY_LEN, codomyrmex_last_error_message};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use std::ffi::{CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::ptr;

/// Algorithm values that name no algorithm.
pub const BAD_ALGS: [codomyrmex_hash_alg; 3] = [0, 4, u32::MAX];
/// What size out-parameters hold before a call that must not write them.
pub const LEN_SENTINEL: usize = 0xDEAD_BEEF;
/// What output buffers hold before a call that must not write them.
pub const FILL: u8 = 0xA5;

/// Every algorithm with its digest length.
pub fn algs() -> [(codomyrmex_hash_alg, usize); 3] {
    [
        (CODOMYRMEX_SHA256, 32),
        (CODOMYRMEX_SHA384, 48),
        (CODOMYRMEX_SHA512, 64),
    ]
}

/// The safe API's algorithm for a C value.
pub fn safe_alg(alg: codomyrmex_hash_alg) -> HashAlg {
    HashAlg::from_value(alg).unwrap()
}

/// Whether no byte of `buf` was written (all still [`FILL`]).
pub fn untouched(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == FILL)
}

/// `text` as a C string.
pub fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

/// This thread's last error message, read with a size query first.
pub fn last_error() -> String {
    // SAFETY: a size query (NULL, 0), then a buffer of the reported size + 1.
    unsafe {
        let len = codomyrmex_last_error_message(ptr::null_mut(), 0);
        let mut buf = vec![0x7f as c_char; len + 1];
        assert_eq!(
            codomyrmex_last_error_message(buf.as_mut_ptr(), buf.len()),
            len
        );
        assert_eq!(buf[len], 0, "the message is NUL-terminated");
        let bytes: Vec<u8> = buf[..len].iter().map(|&b| b as u8).collect();
        String::from_utf8(bytes).expect("the message is UTF-8")
    }
}

/// Runs `body` on a new thread (so it starts with no last error) and
/// returns its result.
pub fn on_fresh_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(body).join().expect("thread panicked")
}

/// A key manager opened through the C API on `<fresh temp dir>/keys`,
/// freed when dropped.
pub struct Km {
    /// The handle.
    pub ptr: *mut codomyrmex_key_manager,
    /// The key directory.
    pub dir: PathBuf,
    tmp: tempfile::TempDir,
}

impl Km {
    /// Opens `<fresh temp dir>/keys` through the C function.
    pub fn new() -> Km {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut km = ptr::null_mut();
        // SAFETY: a NUL-terminated path and a writable out-pointer.
        let status = unsafe { codomyrmex_key_manager_open(path.as_ptr(), &mut km) };
        assert_eq!(status, CODOMYRMEX_OK, "open: {}", last_error());
        assert!(!km.is_null());
        Km { ptr: km, dir, tmp }
    }

    /// The temporary directory holding the key directory.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Stores `key` as `id`; the status.
    pub fn store(&self, id: &str, key: &[u8]) -> codomyrmex_status {
        let id = c(id);
        // SAFETY: a live handle, a NUL-terminated id and a valid key slice.
        unsafe { codomyrmex_key_manager_store(self.ptr, id.as_ptr(), key.as_ptr(), key.len()) }
    }

    /// The current key `id`, or the status of the failure (which must
    /// leave `*out_len` alone).
    pub fn get(&self, id: &str) -> Result<Vec<u8>, codomyrmex_status> {
        let id = c(id);
        let mut out = vec![0u8; CODOMYRMEX_MAX_KEY_LEN];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live handle, a NUL-terminated id, a buffer of its capacity.
        let status = unsafe {
            codomyrmex_key_manager_get(self.ptr, id.as_ptr(), out.as_mut_ptr(), out.len(), &mut len)
        };
        if status == CODOMYRMEX_OK {
            out.truncate(len);
            Ok(out)
        } else {
            assert_eq!(len, LEN_SENTINEL, "a failed get wrote *key_len");
            Err(status)
        }
    }

    /// Whether `id` exists; the call must succeed.
    pub fn exists(&self, id: &str) -> bool {
        let id = c(id);
        let mut exists = false;
        // SAFETY: a live handle, a NUL-terminated id, a writable bool.
        let status = unsafe { codomyrmex_key_manager_exists(self.ptr, id.as_ptr(), &mut exists) };
        assert_eq!(status, CODOMYRMEX_OK);
        exists
    }

    /// The listing as raw bytes and the count, through a size query.
    pub fn list(&self) -> (Vec<u8>, usize) {
        let mut len = LEN_SENTINEL;
        let mut count = LEN_SENTINEL;
        // SAFETY: a live handle; a size query, then a buffer of that size.
        unsafe {
            let status =
                codomyrmex_key_manager_list(self.ptr, ptr::null_mut(), 0, &mut len, &mut count);
            if status == CODOMYRMEX_OK {
                assert_eq!(
                    (len, count),
                    (0, 0),
                    "only an empty listing fits in 0 bytes"
                );
                return (Vec::new(), 0);
            }
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            assert_eq!(count, LEN_SENTINEL, "out_count is set on success only");
            let mut buf = vec![FILL as c_char; len];
            let needed = len;
            let status = codomyrmex_key_manager_list(
                self.ptr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
                &mut count,
            );
            assert_eq!(status, CODOMYRMEX_OK);
            assert_eq!(len, needed);
            (buf.iter().map(|&b| b as u8).collect(), count)
        }
    }
}

impl Drop for Km {
    fn drop(&mut self) {
        // SAFETY: the handle came from codomyrmex_key_manager_open and is
        // freed once.
        unsafe { codomyrmex_key_manager_free(self.ptr) };
    }
}

/// An HMAC computed through the C one-shot function, `alg` given as its C
/// value; the call must succeed.
pub fn c_hmac(alg: u32, key: &[u8], data: &[u8]) -> Vec<u8> {
    use codomyrmex_keys::ffi::hmac::codomyrmex_hmac_compute;
    let mut out = [0u8; codomyrmex_keys::MAX_DIGEST_LEN];
    let mut len = 0usize;
    // SAFETY: every pointer is valid for the length passed with it.
    let status = unsafe {
        codomyrmex_hmac_compute(
            alg,
            key.as_ptr(),
            key.len(),
            data.as_ptr(),
            data.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK);
    out[..len].to_vec()
}
