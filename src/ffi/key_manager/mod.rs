//! The key manager object: opening a key source, and the calls on it.
//! Reading, writing and using keys are in the submodules.

mod keys;
mod usage;
mod versions;

pub use keys::*;
pub use usage::*;
pub use versions::*;

use super::args::{handle, key_id, optional_c_str, out_buf, out_param};
use super::boundary::guard;
use super::handle::{Handle, free_handle};
use super::options::codomyrmex_open_options;
use super::status::codomyrmex_status;
use crate::store::{KeyManager, Location, OpenOptions, Version};
use std::ffi::{OsStr, c_char};
use std::os::unix::ffi::OsStrExt;

/// An open key source (a private key directory or a mounted source):
/// created by `codomyrmex_key_manager_open` or
/// `codomyrmex_key_manager_open_with`, released by
/// `codomyrmex_key_manager_free`. Opaque. One handle may be shared by many
/// threads.
#[allow(non_camel_case_types)]
pub struct codomyrmex_key_manager {
    _private: [u8; 0],
}

impl Handle for codomyrmex_key_manager {
    type Target = KeyManager;
}

/// The C meaning of a version number: 0 is the current version.
fn version(number: u32) -> Version {
    std::num::NonZeroU32::new(number).map_or(Version::Current, Version::Number)
}

/// Opens the key directory `key_dir` and stores a new handle in `*out_km`
/// (set on success only; release it with `codomyrmex_key_manager_free`).
///
/// `key_dir` is any path the OS accepts. `NULL` means the default: the
/// directory named by `$CODOMYRMEX_KEY_DIR` if set and non-empty, else
/// `<tmp>/codomyrmex_keys`, where `<tmp>` is the first of `$TMPDIR`,
/// `$TEMP`, `$TMP`, `/tmp`, `/var/tmp`, `/usr/tmp` that is a directory this
/// user can write — pass a stable directory for keys that must survive a
/// reboot. The directory is created (with parents) as mode 0700 if absent
/// and opened once: later calls use it even if its path is renamed or
/// replaced.
///
/// Errors: `CODOMYRMEX_ERR_INSECURE_PERMISSIONS` (a symbolic link, another
/// owner, writable by group or others, inside a directory another user
/// could swap it in, or a default directory another user made),
/// `CODOMYRMEX_ERR_IO` (cannot create or open, not a directory),
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` (empty path, or one ending in `..`),
/// `CODOMYRMEX_ERR_NULL_POINTER` (`out_km`).
///
/// # Safety
/// `key_dir` must be NULL or NUL-terminated; `out_km` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_open(
    key_dir: *const c_char,
    out_km: *mut *mut codomyrmex_key_manager,
) -> codomyrmex_status {
    guard(|args| {
        let key_dir = optional_c_str!(args, key_dir);
        let out_km = out_param!(args, out_km);
        let km = match key_dir {
            None => KeyManager::open_default()?,
            Some(path) => KeyManager::open(OsStr::from_bytes(path.to_bytes()))?,
        };
        out_km.set(codomyrmex_key_manager::into_raw(km));
        Ok(())
    })
}

/// Opens the key source `location` with `opts` (`NULL`: the defaults) and
/// stores a new handle in `*out_km` (set on success only).
///
/// `location`: `NULL` for the default key directory (as
/// `codomyrmex_key_manager_open`); a path for a private key directory;
/// `"mounted:<path>"` for a read-only source an orchestrator fills (a
/// Kubernetes Secret volume, Docker secrets, systemd credentials, Vault
/// Agent output): links followed only inside it, files trusted only if
/// nobody but root, this user or the uid of
/// `codomyrmex_open_options_set_trusted_uid` can write them, versions as
/// `<id>.key.v<N>`, updates seen by the next call;
/// `"etcd://host1:port1,host2:port2[/prefix]"` for a key set shared by many
/// hosts in an etcd v3 cluster (default prefix `/codomyrmex_keys`; see
/// `codomyrmex_open_options_set_timeout_ms`, `_set_tls`, `_set_auth`; seal
/// it with a KEK): opening sends nothing, so an unreachable cluster fails
/// the first call with `CODOMYRMEX_ERR_IO`, and a library built without
/// etcd support refuses the location with `CODOMYRMEX_ERR_INVALID_ARGUMENT`.
/// Any other `<scheme>:` prefix is `CODOMYRMEX_ERR_INVALID_ARGUMENT` (write
/// `./a:b` for a directory named `a:b`). Other errors as
/// `codomyrmex_key_manager_open`.
///
/// # Safety
/// `location` must be NULL or NUL-terminated; `opts` NULL or a live options
/// object; `out_km` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_open_with(
    location: *const c_char,
    opts: *const codomyrmex_open_options,
    out_km: *mut *mut codomyrmex_key_manager,
) -> codomyrmex_status {
    guard(|args| {
        let location = optional_c_str!(args, location);
        let defaults = OpenOptions::new();
        let opts = match opts.is_null() {
            true => &defaults,
            false => handle!(args, opts),
        };
        let out_km = out_param!(args, out_km);
        let km = match location {
            None => KeyManager::open_default_with(opts)?,
            Some(text) => {
                KeyManager::open_with(&Location::parse(OsStr::from_bytes(text.to_bytes()))?, opts)?
            }
        };
        out_km.set(codomyrmex_key_manager::into_raw(km));
        Ok(())
    })
}

/// Closes the key source and releases the handle. `NULL` does nothing.
/// Must not be called twice on the same handle, nor while another thread
/// still uses it.
///
/// # Safety
/// `km` must be NULL or a handle from `codomyrmex_key_manager_open` not yet
/// freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_free(km: *mut codomyrmex_key_manager) {
    free_handle!(km);
}

/// Writes the key source's directory, as resolved when it was opened (for
/// an etcd source, its location `etcd://...`), into `out` as a
/// NUL-terminated string. `*out_len` counts the NUL, so it is
/// exactly the capacity needed; buffer rule as `codomyrmex_hmac_compute`.
///
/// # Safety
/// `km` must be NULL or a live handle; `out` NULL or valid for `out_cap`
/// bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_dir(
    km: *const codomyrmex_key_manager,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let out = out.cast::<u8>();
        let out = out_buf!(args, out, out_cap, out_len);
        let location = km.location();
        let shown = match location {
            Location::Dir(_) | Location::Mounted(_) => None,
            other => Some(other.to_string()),
        };
        let path = match &shown {
            Some(text) => text.as_bytes(),
            None => location.path().as_os_str().as_bytes(),
        };
        out.write_with(path.len() + 1, |buf| {
            buf[..path.len()].copy_from_slice(path);
            buf[path.len()] = 0;
        })
    })
}

/// Writes the ids of all keys into `out`, sorted bytewise ascending, each
/// followed by one `'\0'`; `*out_len` counts every byte written (NULs
/// included) and `*out_count` the ids. Only regular files named
/// `<valid key id>.key` count.
///
/// Buffer rule as `codomyrmex_hmac_compute` (`*out_count` is set on success
/// only). `out_count` is required. Errors: `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`, `CODOMYRMEX_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `km` must be NULL or a live handle; `out` NULL or valid for `out_cap`
/// bytes; `out_len` and `out_count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_list(
    km: *const codomyrmex_key_manager,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
    out_count: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let out = out.cast::<u8>();
        let out = out_buf!(args, out, out_cap, out_len);
        let out_count = out_param!(args, out_count);
        let ids = km.list()?;
        let total = ids.iter().map(|id| id.len() + 1).sum();
        out.write_with(total, |buf| {
            let mut at = 0;
            for id in &ids {
                buf[at..at + id.len()].copy_from_slice(id.as_bytes());
                buf[at + id.len()] = 0;
                at += id.len() + 1;
            }
        })?;
        out_count.set(ids.len());
        Ok(())
    })
}

/// Sets `*out_exists` to whether a key `key_id` exists (exactly when
/// `codomyrmex_key_manager_list` would list it).
///
/// Errors: `CODOMYRMEX_ERR_INSECURE_PERMISSIONS` (the name is a symbolic
/// link), `CODOMYRMEX_ERR_CORRUPT` (another kind of file),
/// `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out_exists` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_exists(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out_exists: *mut bool,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let out_exists = out_param!(args, out_exists);
        out_exists.set(km.exists(key_id)?);
        Ok(())
    })
}

/// Seals, under the KEK the key manager was opened with, every key file
/// and version record that is plain (the original layout) or sealed under
/// another KEK, each atomically: a crash leaves every file readable, and
/// calling again finishes the work. Sets `*out_count` to the number of
/// files rewritten (0 when everything was sealed already).
///
/// Errors: `CODOMYRMEX_ERR_INVALID_ARGUMENT` (opened without a KEK, or a
/// read-only source); otherwise as `codomyrmex_key_manager_get` for any
/// key, and `CODOMYRMEX_ERR_IO`.
///
/// # Safety
/// `km` must be NULL or a live handle; `out_count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_seal_all(
    km: *const codomyrmex_key_manager,
    out_count: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let out_count = out_param!(args, out_count);
        out_count.set(km.seal_all()?);
        Ok(())
    })
}

/// `key!(args, km, key_id)`: the key `key_id` of the key manager `km`,
/// both checked.
macro_rules! key {
    ($args:ident, $km:ident, $key_id:ident) => {{
        let km = $crate::ffi::args::handle!($args, $km);
        let key_id = $crate::ffi::args::key_id!($args, $key_id);
        km.key(key_id)?
    }};
}

use key;
