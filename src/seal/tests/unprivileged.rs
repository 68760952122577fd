//! KEK files and credentials loaded by an unprivileged user, as a systemd
//! service with `User=` would: root cannot show these rules at work, since
//! the kernel lets it open anything.
//!
//! The parent test (as root) lays out files as systemd and an operator
//! would, then runs [`as_service_user`] in a copy of this test binary under
//! `setpriv` as uid/gid 65534 with no supplementary groups.

use super::format::{VECTOR_KEK, VECTOR_KEK_ID};
use super::{
    AclEntry, GROUP, USER, credential_acl, expect_error, is_root, set_acl, unhex, write_file,
};
use crate::error::ErrorKind;
use crate::seal::Kek;
use crate::seal::kek_file::CREDENTIALS_DIRECTORY_ENV;
use std::fs::Permissions;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The unprivileged user: `nobody`.
const SERVICE_UID: u32 = 65534;

/// Another unprivileged user, owning what the service must not trust.
const STRANGER_UID: u32 = 65533;

/// Tells the child where the parent laid out its files.
const CHILD_DIR_ENV: &str = "CODOMYRMEX_KEYS_SEAL_TEST_DIR";

/// The child test's full name, for the harness's `--exact`.
const CHILD_TEST: &str = "seal::tests::unprivileged::as_service_user";

#[test]
fn kek_files_and_credentials_as_an_unprivileged_service_user() {
    if !is_root() {
        println!("skipped: only root can lay out files for another user");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), Permissions::from_mode(0o755)).unwrap();
    lay_out_credentials(&base.path().join("creds"));
    lay_out_kek_files(&base.path().join("files"));
    // A copy the service user can run, wherever the build tree is.
    let binary = base.path().join("test-binary");
    std::fs::copy(std::env::current_exe().unwrap(), &binary).unwrap();
    std::fs::set_permissions(&binary, Permissions::from_mode(0o755)).unwrap();
    let output = Command::new("setpriv")
        .args([
            &format!("--reuid={SERVICE_UID}"),
            &format!("--regid={SERVICE_UID}"),
            "--clear-groups",
        ])
        .arg(&binary)
        .args([
            CHILD_TEST,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(CREDENTIALS_DIRECTORY_ENV, base.path().join("creds"))
        .env(CHILD_DIR_ENV, base.path())
        .output()
        .expect("setpriv runs (util-linux)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}

/// systemd's credentials directory for a unit with `User=nobody`: root's,
/// read-only, the service user admitted by ACL (`ls -l`: 0550, 0440).
/// Beside the real layout: the no-ACL fallback (file given to the user) and
/// two credentials whose ACL admits someone else too.
fn lay_out_credentials(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    let kek = unhex(VECTOR_KEK);
    let cases: [(&str, &[AclEntry]); 3] = [
        ("kek", &[]),
        ("kek-two-users", &[(USER, 4, STRANGER_UID)]),
        ("kek-group", &[(GROUP, 4, STRANGER_UID)]),
    ];
    for (name, extra) in cases {
        let path = dir.join(name);
        write_file(&path, &kek, 0o400);
        set_acl(&path, &credential_acl(SERVICE_UID, extra));
    }
    let chowned = dir.join("kek-chowned");
    write_file(&chowned, &kek, 0o400);
    chown(&chowned, Some(SERVICE_UID), Some(SERVICE_UID)).unwrap();
    std::fs::set_permissions(dir, Permissions::from_mode(0o500)).unwrap();
    // The same ACL with r-x for r--: a directory is entered through x.
    let dir_acl: Vec<_> = credential_acl(SERVICE_UID, &[])
        .into_iter()
        .map(|(tag, perm, id)| (tag, if perm == 0 { 0 } else { 0o5 }, id))
        .collect();
    set_acl(dir, &dir_acl);
}

/// KEK files an operator might leave for the service: its own, root's
/// private one, a stranger's that the service can read, and one with the
/// credential's ACL layout.
fn lay_out_kek_files(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    std::fs::set_permissions(dir, Permissions::from_mode(0o755)).unwrap();
    let kek = unhex(VECTOR_KEK);
    let own = dir.join("own");
    write_file(&own, &kek, 0o600);
    chown(&own, Some(SERVICE_UID), Some(SERVICE_UID)).unwrap();
    write_file(&dir.join("root-only"), &kek, 0o600);
    let strangers = dir.join("strangers");
    write_file(&strangers, &kek, 0o400);
    chown(&strangers, Some(STRANGER_UID), Some(STRANGER_UID)).unwrap();
    set_acl(&strangers, &credential_acl(SERVICE_UID, &[]));
    let acl_layout = dir.join("acl-layout");
    write_file(&acl_layout, &kek, 0o400);
    set_acl(&acl_layout, &credential_acl(SERVICE_UID, &[]));
}

/// The child: runs as uid 65534 and loads what the parent laid out.
#[test]
#[ignore = "run as another user by kek_files_and_credentials_as_an_unprivileged_service_user"]
fn as_service_user() {
    let base = PathBuf::from(std::env::var_os(CHILD_DIR_ENV).expect("started by the parent test"));
    assert_eq!(rustix::process::geteuid().as_raw(), SERVICE_UID);
    // The credentials, found through $CREDENTIALS_DIRECTORY.
    for name in ["kek", "kek-chowned"] {
        let kek = Kek::load_credential(name).unwrap();
        assert_eq!(kek.id().to_string(), VECTOR_KEK_ID);
    }
    let insecure = ErrorKind::InsecurePermissions;
    let needle = format!("has an ACL that gives uid {STRANGER_UID} access");
    expect_error(Kek::load_credential("kek-two-users"), insecure, &needle);
    let needle = format!("has an ACL that gives gid {STRANGER_UID} access");
    expect_error(Kek::load_credential("kek-group"), insecure, &needle);
    // Plain KEK files.
    let files = base.join("files");
    assert_eq!(
        Kek::load_file(&files.join("own")).unwrap().id().to_string(),
        VECTOR_KEK_ID
    );
    expect_error(
        Kek::load_file(&files.join("root-only")),
        ErrorKind::Io,
        "(EACCES)",
    );
    let needle = format!("is owned by uid {STRANGER_UID}, not by this user (uid {SERVICE_UID})");
    expect_error(Kek::load_file(&files.join("strangers")), insecure, &needle);
    expect_error(
        Kek::load_file(&files.join("acl-layout")),
        insecure,
        "by group or others (mode 0440;",
    );
}
