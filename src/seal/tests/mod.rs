//! Tests of sealing and of KEK loading.

mod format;
mod kek;
mod kek_files;
mod unprivileged;

use crate::error::{ErrorKind, Result};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Bytes from hexadecimal text (whitespace ignored).
pub(super) fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Lowercase hexadecimal text of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts that `result` failed with `kind` and a one-line message
/// containing `needle`; returns the message.
#[track_caller]
pub(super) fn expect_error<T>(result: Result<T>, kind: ErrorKind, needle: &str) -> String {
    let Err(err) = result else {
        panic!("expected {kind:?} containing {needle:?}, got success");
    };
    assert_eq!(err.kind(), kind, "wrong kind; message: {}", err.message());
    assert!(
        err.message().contains(needle),
        "message {:?} lacks {needle:?}",
        err.message()
    );
    assert!(!err.message().contains('\n'), "message has several lines");
    err.message().to_string()
}

/// Whether the tests run as root (they do in CI).
pub(super) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Writes `bytes` to a new file at `path` and gives it `mode`.
pub(super) fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

/// One ACL entry: tag, permission bits (r = 4, w = 2, x = 1), id.
pub(super) type AclEntry = (u16, u16, u32);

/// ACL entry tags, as the kernel's `system.posix_acl_access` attribute
/// spells them.
pub(super) const USER_OBJ: u16 = 0x01;
pub(super) const USER: u16 = 0x02;
pub(super) const GROUP_OBJ: u16 = 0x04;
pub(super) const GROUP: u16 = 0x08;
pub(super) const MASK: u16 = 0x10;
pub(super) const OTHER: u16 = 0x20;

/// The `system.posix_acl_access` attribute of the ACL `entries` (tag,
/// permission bits, id; entries without an id take any id, written as
/// the kernel's "undefined" id).
pub(super) fn acl_bytes(entries: &[AclEntry]) -> Vec<u8> {
    let mut bytes = 2u32.to_le_bytes().to_vec();
    for &(tag, perm, id) in entries {
        let id = if matches!(tag, USER | GROUP) {
            id
        } else {
            u32::MAX
        };
        bytes.extend_from_slice(&tag.to_le_bytes());
        bytes.extend_from_slice(&perm.to_le_bytes());
        bytes.extend_from_slice(&id.to_le_bytes());
    }
    bytes
}

/// The ACL systemd gives a credential of a service running as `uid`:
/// `user::r--`, `user:<uid>:r--`, `group::---`, `mask::r--`, `other::---`
/// (`ls -l` shows 0440), plus `extra` entries before the mask.
pub(super) fn credential_acl(uid: u32, extra: &[AclEntry]) -> Vec<AclEntry> {
    let mut entries = vec![(USER_OBJ, 4, 0), (USER, 4, uid), (GROUP_OBJ, 0, 0)];
    entries.extend_from_slice(extra);
    entries.extend([(MASK, 4, 0), (OTHER, 0, 0)]);
    // The kernel wants entries ordered by tag, then id.
    entries.sort_by_key(|&(tag, _, id)| (tag, id));
    entries
}

/// Sets the access ACL of the file at `path`.
pub(super) fn set_acl(path: &Path, entries: &[AclEntry]) {
    rustix::fs::setxattr(
        path,
        "system.posix_acl_access",
        &acl_bytes(entries),
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
}
