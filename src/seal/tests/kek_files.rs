//! Loading a KEK from a file or a systemd credential: what is accepted and
//! what is refused, as the user running the tests (root in CI).

use super::format::{VECTOR_KEK, VECTOR_KEK_ID};
use super::{
    GROUP, GROUP_OBJ, MASK, OTHER, USER, USER_OBJ, acl_bytes, credential_acl, expect_error,
    is_root, set_acl, unhex, write_file,
};
use crate::error::ErrorKind;
use crate::seal::Kek;
use crate::seal::kek_file::{acl_rule, owner_rule};
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A fresh directory holding the vector's KEK as `name` with `mode`.
fn kek_in_dir(name: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    write_file(&path, &unhex(VECTOR_KEK), mode);
    (dir, path)
}

/// `Kek::load_file` on another thread, failing the test if it has not
/// returned within a few seconds (a blocking open of a FIFO would hang).
fn load_file_within_seconds(path: &Path) -> crate::error::Result<Kek> {
    let (done, result) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || done.send(Kek::load_file(&path)));
    result
        .recv_timeout(Duration::from_secs(5))
        .expect("loading the KEK blocked")
}

#[test]
fn a_private_kek_file_loads() {
    for mode in [0o600, 0o400] {
        let (_dir, path) = kek_in_dir("kek", mode);
        let kek = Kek::load_file(&path).unwrap();
        assert_eq!(kek.id().to_string(), VECTOR_KEK_ID);
    }
}

#[test]
fn a_missing_kek_file_is_an_io_error_naming_enoent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent");
    let message = expect_error(Kek::load_file(&path), ErrorKind::Io, "(ENOENT)");
    assert_eq!(
        message,
        format!(
            "cannot open KEK file '{}': No such file or directory (ENOENT)",
            path.display()
        )
    );
}

#[test]
fn a_kek_file_of_another_size_is_an_invalid_argument() {
    for len in [0, 31, 33] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        write_file(&path, &vec![7; len], 0o600);
        let needle = format!("has {len} bytes; a KEK is exactly 32 bytes");
        expect_error(Kek::load_file(&path), ErrorKind::InvalidArgument, &needle);
    }
}

#[test]
fn group_or_other_permission_bits_are_insecure() {
    for mode in [0o640, 0o604, 0o644, 0o620, 0o602, 0o610, 0o601, 0o440] {
        let (_dir, path) = kek_in_dir("kek", mode);
        let needle = format!("is accessible by group or others (mode {mode:04o}");
        expect_error(
            Kek::load_file(&path),
            ErrorKind::InsecurePermissions,
            &needle,
        );
    }
}

#[test]
fn a_symbolic_link_to_a_good_kek_is_insecure() {
    let (dir, target) = kek_in_dir("kek", 0o600);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(Kek::load_file(&target).is_ok());
    expect_error(
        Kek::load_file(&link),
        ErrorKind::InsecurePermissions,
        "is a symbolic link",
    );
}

#[test]
fn directories_fifos_and_sockets_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, mode, 0).unwrap();
    let socket = dir.path().join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let subdir = dir.path().join("dir");
    std::fs::create_dir(&subdir).unwrap();
    std::fs::set_permissions(&subdir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let cases = [
        (&fifo, "is a FIFO, not a regular file"),
        (&socket, "is not a regular file"),
        (&subdir, "is a directory, not a regular file"),
    ];
    for (path, needle) in cases {
        expect_error(load_file_within_seconds(path), ErrorKind::Corrupt, needle);
    }
}

#[test]
fn a_kek_file_of_another_user_is_insecure() {
    if !is_root() {
        println!("skipped: only root can give a file to another user");
        return;
    }
    let (_dir, path) = kek_in_dir("kek", 0o600);
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    let message = expect_error(
        Kek::load_file(&path),
        ErrorKind::InsecurePermissions,
        "is owned by uid 65534, not by this user (uid 0) or root",
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
}

/// The owner rule decided for an unprivileged user too: its own files and
/// root's pass, anyone else's fail.
#[test]
fn the_owner_rule_admits_this_user_and_root_only() {
    assert!(owner_rule(1000, 1000).is_ok());
    assert!(owner_rule(0, 1000).is_ok());
    assert!(owner_rule(0, 0).is_ok());
    assert!(
        owner_rule(1001, 1000)
            .unwrap_err()
            .contains("owned by uid 1001")
    );
    assert!(owner_rule(65534, 0).is_err());
}

/// The ACL rule: systemd's layout for this user passes; any access for
/// another user, a group or others fails unless the mask takes it away.
#[test]
fn the_acl_rule_admits_only_this_user_besides_the_owner() {
    let me = 1000;
    assert!(acl_rule(&acl_bytes(&credential_acl(me, &[])), me).is_ok());
    let masked_off = [
        (USER_OBJ, 4, 0),
        (USER, 4, 1001),
        (GROUP_OBJ, 4, 0),
        (MASK, 0, 0),
        (OTHER, 0, 0),
    ];
    assert!(acl_rule(&acl_bytes(&masked_off), me).is_ok());
    let refused = [
        (credential_acl(1001, &[]), "gives uid 1001 access"),
        (
            credential_acl(me, &[(USER, 4, 1001)]),
            "gives uid 1001 access",
        ),
        (credential_acl(me, &[(GROUP, 4, 5)]), "gives gid 5 access"),
        (
            credential_acl(me, &[(GROUP_OBJ, 4, 0)]),
            "gives its group access",
        ),
        (
            vec![(USER_OBJ, 4, 0), (GROUP_OBJ, 0, 0), (OTHER, 4, 0)],
            "gives others access",
        ),
        (credential_acl(me, &[(0x40, 4, 0)]), "unknown type 0x40"),
    ];
    for (entries, needle) in refused {
        let why = acl_rule(&acl_bytes(&entries), me).unwrap_err();
        assert!(why.contains(needle), "{why} lacks {needle}");
    }
    let mut wrong_version = acl_bytes(&credential_acl(me, &[]));
    wrong_version[0] = 3;
    for malformed in [
        &wrong_version[..],
        &wrong_version[..3],
        &acl_bytes(&[])[..2],
    ] {
        assert!(
            acl_rule(malformed, me)
                .unwrap_err()
                .contains("unknown format")
        );
    }
    let uneven = &acl_bytes(&credential_acl(me, &[]))[..11];
    assert!(acl_rule(uneven, me).is_err());
}

#[test]
fn credential_names_must_be_plain_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("", "it is empty"),
        (".", "it names a directory"),
        ("..", "it names a directory"),
        ("a/b", "it contains '/'"),
        ("../kek", "it contains '/'"),
        ("a\0b", "it contains a NUL byte"),
    ];
    for (name, needle) in cases {
        let result = Kek::load_credential_in(Some(dir.path().as_os_str()), name);
        let message = expect_error(result, ErrorKind::InvalidArgument, needle);
        assert!(
            message.starts_with("invalid KEK credential name"),
            "{message}"
        );
    }
}

#[test]
fn a_credential_needs_an_absolute_credentials_directory() {
    let cases = [
        (None, "$CREDENTIALS_DIRECTORY is not set"),
        (Some(OsStr::new("")), "$CREDENTIALS_DIRECTORY is empty"),
        (Some(OsStr::new("run/creds")), "is not an absolute path"),
    ];
    for (dir, needle) in cases {
        let result = Kek::load_credential_in(dir, "kek");
        let message = expect_error(result, ErrorKind::InvalidArgument, needle);
        assert!(message.contains("LoadCredential="), "{message}");
    }
}

/// systemd's layout for a service running as the manager's own user (root
/// for the system manager): the file is 0400 and owned by that user.
#[test]
fn a_credential_of_a_service_running_as_the_managers_user_loads() {
    let (dir, path) = kek_in_dir("kek", 0o400);
    let kek = Kek::load_credential_in(Some(dir.path().as_os_str()), "kek").unwrap();
    assert_eq!(kek.id().to_string(), VECTOR_KEK_ID);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o440)).unwrap();
    expect_error(
        Kek::load_credential_in(Some(dir.path().as_os_str()), "kek"),
        ErrorKind::InsecurePermissions,
        "is accessible by group or others (mode 0440",
    );
    let missing = Kek::load_credential_in(Some(dir.path().as_os_str()), "other");
    expect_error(
        missing,
        ErrorKind::Io,
        "cannot open KEK credential 'other' at",
    );
}

/// An ACL that grants read access to this user shows as mode 0440; it is
/// accepted for a credential, refused for a plain KEK file; an ACL for
/// another user is refused for both.
#[test]
fn credential_acls_are_judged_by_who_they_admit() {
    let me = rustix::process::geteuid().as_raw();
    let (dir, path) = kek_in_dir("kek", 0o400);
    set_acl(&path, &credential_acl(me, &[]));
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o440);
    let in_dir = Some(dir.path().as_os_str());
    assert!(Kek::load_credential_in(in_dir, "kek").is_ok());
    expect_error(
        Kek::load_file(&path),
        ErrorKind::InsecurePermissions,
        "(mode 0440",
    );

    let other = if me == 65534 { 65533 } else { 65534 };
    set_acl(&path, &credential_acl(other, &[]));
    let needle = format!("(mode 0440) has an ACL that gives uid {other} access");
    expect_error(
        Kek::load_credential_in(in_dir, "kek"),
        ErrorKind::InsecurePermissions,
        &needle,
    );
}
