//! Open options: how `codomyrmex_key_manager_open_with` opens a key source.

use super::args::{c_str, handle_mut, optional_c_str, out_param};
use super::boundary::guard;
use super::handle::{Handle, free_handle};
use super::status::{Failure, codomyrmex_status};
use crate::error::Status;
use crate::store::OpenOptions;
use std::ffi::{CStr, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

/// Options for `codomyrmex_key_manager_open_with`: created by
/// `codomyrmex_open_options_new` with every default, changed by the
/// `codomyrmex_open_options_set_*` functions, released by
/// `codomyrmex_open_options_free`. Opaque; new options never change the
/// ABI. An options object may be freed as soon as the open call returns.
#[allow(non_camel_case_types)]
pub struct codomyrmex_open_options {
    _private: [u8; 0],
}

impl Handle for codomyrmex_open_options {
    type Target = OpenOptions;
}

/// Creates an options object with the defaults (writable; no extra
/// trusted owner; writers wait at most 30 000 ms for a lock; no KEK; for
/// etcd, requests bounded by 5000 ms, plain HTTP, no authentication) and
/// stores it in `*out_opts` (set on success only; release it with
/// `codomyrmex_open_options_free`).
///
/// # Safety
/// `out_opts` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_new(
    out_opts: *mut *mut codomyrmex_open_options,
) -> codomyrmex_status {
    guard(|args| {
        let out_opts = out_param!(args, out_opts);
        out_opts.set(codomyrmex_open_options::into_raw(OpenOptions::new()));
        Ok(())
    })
}

/// Releases an options object. `NULL` does nothing. Must not be called
/// twice on the same object.
///
/// # Safety
/// `opts` must be NULL or an object from `codomyrmex_open_options_new` not
/// yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_free(opts: *mut codomyrmex_open_options) {
    free_handle!(opts);
}

/// With `read_only` true, every write call (`store`, `create`, `generate`,
/// `rotate`, `delete`, `prune`, `stage`, `promote`) on the opened key
/// manager fails with `CODOMYRMEX_ERR_INVALID_ARGUMENT` and touches
/// nothing, and opening creates nothing. Mounted sources are always
/// read-only.
///
/// # Safety
/// `opts` must be NULL or a live options object not used by another thread
/// during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_read_only(
    opts: *mut codomyrmex_open_options,
    read_only: bool,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        *opts = std::mem::take(opts).read_only(read_only);
        Ok(())
    })
}

/// In a mounted source, also trust files and directories owned by `uid`
/// (the agent that writes them, such as Vault Agent's user), besides root
/// and the effective user. A later call replaces the uid.
///
/// # Safety
/// As `codomyrmex_open_options_set_read_only`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_trusted_uid(
    opts: *mut codomyrmex_open_options,
    uid: u32,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        *opts = std::mem::take(opts).trusted_uid(uid);
        Ok(())
    })
}

/// Writers of a key wait at most `ms` milliseconds for another writer's
/// lock (default 30 000), then fail with `CODOMYRMEX_ERR_IO` and a message
/// saying "timed out waiting for the lock on <dir>"; 0 waits as long as it
/// takes.
///
/// # Safety
/// As `codomyrmex_open_options_set_read_only`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_lock_timeout_ms(
    opts: *mut codomyrmex_open_options,
    ms: u32,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        let timeout = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        *opts = std::mem::take(opts).lock_timeout(timeout);
        Ok(())
    })
}

/// Seal every key file and version record written through the opened key
/// manager under the key-encryption key (KEK) in the file `path`: exactly
/// 32 random bytes (`codomyrmex-keys kek generate` makes one), a regular
/// file owned by this user or root, not a symbolic link, with no access for
/// group or others — else `CODOMYRMEX_ERR_INSECURE_PERMISSIONS` (or
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` for another length) when the key
/// manager is opened, which reads it once. Keep it outside the key
/// directory. Plain files stay readable unless
/// `codomyrmex_open_options_set_require_sealed`.
///
/// # Safety
/// `opts` as `codomyrmex_open_options_set_read_only`; `path` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_kek_file(
    opts: *mut codomyrmex_open_options,
    path: *const c_char,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        let path = c_str!(args, path);
        *opts = std::mem::take(opts).kek_file(OsStr::from_bytes(path.to_bytes()));
        Ok(())
    })
}

/// Like `codomyrmex_open_options_set_kek_file` for the systemd credential
/// `name`: the file `$CREDENTIALS_DIRECTORY/<name>` that `LoadCredential=`
/// or `LoadCredentialEncrypted=` (a TPM-bound KEK) provides. `name` must be
/// a plain file name (no `/`, not `.` or `..`, valid UTF-8), else
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `opts` as `codomyrmex_open_options_set_read_only`; `name` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_kek_credential(
    opts: *mut codomyrmex_open_options,
    name: *const c_char,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        let name = c_str!(args, name);
        let name = name.to_str().map_err(|_| {
            Failure::new(
                Status::InvalidArgument,
                "name: a credential name must be valid UTF-8",
            )
        })?;
        crate::seal::check_credential_name(name)?;
        *opts = std::mem::take(opts).kek_credential(name);
        Ok(())
    })
}

/// With `require` true, reading a key file or version record that is not
/// sealed fails with `CODOMYRMEX_ERR_CORRUPT`, so nobody who can write the
/// key directory can slip a plain key in.
///
/// # Safety
/// As `codomyrmex_open_options_set_read_only`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_require_sealed(
    opts: *mut codomyrmex_open_options,
    require: bool,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        *opts = std::mem::take(opts).require_sealed(require);
        Ok(())
    })
}

/// For an etcd source (`etcd://...`): every request to the cluster —
/// connecting, failing over between members and retrying included — takes
/// at most `ms` milliseconds (default 5000); after that the call fails with
/// `CODOMYRMEX_ERR_IO` and a message naming every endpoint tried and why it
/// failed. A call that makes several requests (a write reads, then commits)
/// ends with the first request that runs out of time. `ms` must be at least
/// 1 (else `CODOMYRMEX_ERR_INVALID_ARGUMENT`). Other sources ignore it.
///
/// # Safety
/// As `codomyrmex_open_options_set_read_only`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_timeout_ms(
    opts: *mut codomyrmex_open_options,
    ms: u32,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        if ms == 0 {
            return Err(Failure::new(
                Status::InvalidArgument,
                "ms: a timeout of 0 ms would fail every call; give at least 1",
            ));
        }
        *opts = std::mem::take(opts).timeout(Duration::from_millis(u64::from(ms)));
        Ok(())
    })
}

/// For an etcd source: reach the members over TLS (`https`). `ca_file`
/// holds the PEM CA certificates the members' certificates must chain to
/// (`NULL`: the system's bundle, or `$SSL_CERT_FILE`); `cert_file` and
/// `key_file` are a client certificate and its private key (PEM), for
/// clusters that require one: both or neither (else
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT`). The key file must be a regular file
/// of this user or root that group and others cannot access
/// (`CODOMYRMEX_ERR_INSECURE_PERMISSIONS` when the key manager is opened).
/// A certificate the client does not trust fails a call at once with
/// `CODOMYRMEX_ERR_IO`. A later call replaces the files.
///
/// # Safety
/// `opts` as `codomyrmex_open_options_set_read_only`; each file NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_tls(
    opts: *mut codomyrmex_open_options,
    ca_file: *const c_char,
    cert_file: *const c_char,
    key_file: *const c_char,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        let ca_file = optional_c_str!(args, ca_file).map(path);
        let cert_file = optional_c_str!(args, cert_file).map(path);
        let key_file = optional_c_str!(args, key_file).map(path);
        if cert_file.is_some() != key_file.is_some() {
            return Err(Failure::new(
                Status::InvalidArgument,
                "cert_file, key_file: a client certificate and its key go together",
            ));
        }
        *opts = std::mem::take(opts).tls(ca_file, cert_file, key_file);
        Ok(())
    })
}

/// For an etcd source: authenticate as the etcd user `user` (UTF-8, not
/// empty) with the password in the file `password_file`: a regular file of
/// this user or root that group and others cannot access
/// (`CODOMYRMEX_ERR_INSECURE_PERMISSIONS` when the key manager is opened),
/// holding the password (one trailing newline is ignored). The file is read
/// again whenever a new auth token is needed, so a changed password is
/// picked up. Neither the password nor the token ever appears in a message.
///
/// # Safety
/// `opts` as `codomyrmex_open_options_set_read_only`; `user` and
/// `password_file` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_open_options_set_auth(
    opts: *mut codomyrmex_open_options,
    user: *const c_char,
    password_file: *const c_char,
) -> codomyrmex_status {
    guard(|args| {
        let opts = handle_mut!(args, opts);
        let user = c_str!(args, user);
        let password_file = c_str!(args, password_file);
        let user = match user.to_str() {
            Ok(user) if !user.is_empty() => user,
            _ => {
                return Err(Failure::new(
                    Status::InvalidArgument,
                    "user: an etcd user name must be non-empty UTF-8",
                ));
            }
        };
        *opts = std::mem::take(opts).auth(user, path(password_file));
        Ok(())
    })
}

/// A C string as a path (any bytes).
fn path(text: &CStr) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(text.to_bytes()))
}
