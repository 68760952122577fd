//! The attacks of the second hardening review, each reproduced as it was
//! described: a local attacker running as another user, or a careless
//! operator, against a victim running as a third user. Root ignores mode
//! bits, so victim and attacker run under `setpriv` as two unprivileged
//! uids; the windows a race needs are widened with `strace` delay
//! injection, so each attack either works every time or never.
//!
//! The tests drive the operator CLI and plain files only, so they run
//! unchanged against any release of the library. They need root (to switch
//! users, trace and mount) and skip with a note otherwise.

mod attack_support;

use attack_support::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

/// Item 1: the key directory was made with mkdir 0777 and fixed by chmod
/// afterwards. Under umask 000 another user planted `.lock` in that window
/// and held a lock on it, so every later write of the victim blocked
/// forever. Every directory must be private from the instant it exists.
#[test]
fn a_lock_file_planted_while_the_key_directory_is_created_blocks_nothing() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let home = sandbox.home_of(VICTIM);
    let keys = home.join("a/b/keys");
    let mut attacker = sandbox.attacker_probe(
        &[&home.join("a"), &home.join("a/b"), &keys],
        Duration::from_secs(4),
    );
    // The victim creates the directory (and two parents) with each mkdir
    // held open for 400 ms after it returns: the attacker polls meanwhile.
    let init = sandbox.victim_slow_mkdir(0o000, &["--dir", path_str(&keys), "init"]);
    assert!(init.status.success(), "init failed: {}", init.stderr);
    let store = sandbox.victim(
        &["--dir", path_str(&keys), "import", "api", "--format", "hex"],
        Some("00112233445566778899aabbccddeeff"),
        Duration::from_secs(10),
    );
    let report = attacker.finish();
    assert!(
        !report.contains("planted"),
        "the attacker planted a file: {report}"
    );
    assert!(
        store.finished,
        "the victim's write hung on a lock another user holds"
    );
    assert!(store.status.success(), "store failed: {}", store.stderr);
    for dir in [home.join("a"), home.join("a/b"), keys.clone()] {
        assert_eq!(mode_of(&dir), 0o700, "{}", dir.display());
    }
}

/// Item 1, second half: under umask 022 the directory was 0755 for a
/// moment; another user opened it then and, holding that descriptor, listed
/// the key ids later.
#[test]
fn a_descriptor_taken_while_the_key_directory_is_created_reveals_no_key_id() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let mut attacker = sandbox.attacker_probe(&[&keys], Duration::from_secs(3));
    let init = sandbox.victim_slow_mkdir(0o022, &["--dir", path_str(&keys), "init"]);
    assert!(init.status.success(), "init failed: {}", init.stderr);
    let store = sandbox.victim(
        &["--dir", path_str(&keys), "generate", "payroll-signing"],
        None,
        Duration::from_secs(10),
    );
    assert!(store.status.success(), "generate failed: {}", store.stderr);
    let report = attacker.finish();
    assert!(
        !report.contains("opened"),
        "the attacker opened the key directory: {report}"
    );
    assert!(
        !report.contains("payroll-signing"),
        "the attacker listed a key id: {report}"
    );
}

/// Item 1: a `.lock` that is not the victim's own private file (as the
/// race above would have left it) is refused, not used.
#[test]
fn a_lock_file_of_another_user_is_refused() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let init = sandbox.victim(
        &["--dir", path_str(&keys), "init"],
        None,
        Duration::from_secs(10),
    );
    assert!(init.status.success(), "init failed: {}", init.stderr);
    let lock = keys.join(".lock");
    fs::remove_file(&lock).unwrap();
    fs::write(&lock, b"").unwrap();
    fs::set_permissions(&lock, fs::Permissions::from_mode(0o666)).unwrap();
    std::os::unix::fs::chown(&lock, Some(ATTACKER), Some(ATTACKER)).unwrap();
    let store = sandbox.victim(
        &["--dir", path_str(&keys), "generate", "api"],
        None,
        Duration::from_secs(10),
    );
    assert!(store.finished, "the write hung");
    assert_eq!(
        store.code,
        Some(EXIT_INSECURE_PERMISSIONS),
        "{}",
        store.stderr
    );
    assert!(store.stderr.contains(".lock"), "{}", store.stderr);
    assert!(!keys.join("api.key").exists());
}

/// Item 2: a key removed by anything but the library (the original
/// module's delete_key, an operator's `rm`) and written again by something
/// that knows nothing of versions (`cp`) took over the old version records:
/// version 1 read back the deleted key and its tags verified.
#[test]
fn a_key_deleted_behind_the_librarys_back_never_verifies_again() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let dir = path_str(&keys);
    let leaked = "6c65616b65642d6b65792d76312d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d";
    assert!(
        sandbox
            .victim(
                &["--dir", dir, "import", "api", "--format", "hex"],
                Some(leaked),
                TIMEOUT
            )
            .status
            .success()
    );
    let tag = sandbox.victim(
        &["--dir", dir, "hmac", "api", "--tagged"],
        Some("invoice 42"),
        TIMEOUT,
    );
    assert!(tag.status.success(), "{}", tag.stderr);
    let tag = tag.stdout.trim().to_string();
    assert!(
        sandbox
            .victim(&["--dir", dir, "rotate", "api"], None, TIMEOUT)
            .status
            .success()
    );
    // The key leaked: the operator removes it by hand and installs a new
    // one with cp, as a user of the original module would.
    let replacement = home_file(
        &sandbox,
        "new.key",
        b"a brand new key, unrelated to the old",
    );
    sandbox.shell_as(
        VICTIM,
        &format!(
            "rm {0}/api.key && cp {1} {0}/api.key && chmod 600 {0}/api.key",
            dir,
            path_str(&replacement)
        ),
    );
    let verify = sandbox.victim(
        &["--dir", dir, "verify", "api", &tag, "--tagged", "--quiet"],
        Some("invoice 42"),
        TIMEOUT,
    );
    assert_eq!(
        verify.code,
        Some(1),
        "a tag of the deleted key verified: {}",
        verify.stderr
    );
    let old = sandbox.victim(
        &["--dir", dir, "get", "api", "--version", "1", "--reveal"],
        None,
        TIMEOUT,
    );
    assert!(old.status.success(), "{}", old.stderr);
    assert_ne!(old.stdout.trim(), leaked, "version 1 is the deleted key");
    let versions = sandbox.victim(&["--dir", dir, "versions", "api"], None, TIMEOUT);
    assert_eq!(versions.stdout.trim(), "1 (current)", "{}", versions.stderr);
    // The next open removes the orphaned records: no file holds the old key.
    assert!(
        !holds_hex(&keys, leaked),
        "a file still holds the deleted key"
    );
}

/// Item 2: a delete killed after it removed the key file but before its
/// records left those records behind, and a key of the same id written
/// later by something that knows nothing of versions inherited them.
#[test]
fn records_left_by_a_killed_delete_are_removed_and_never_inherited() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let dir = path_str(&keys);
    let first = "11111111111111111111111111111111";
    assert!(
        sandbox
            .victim(
                &["--dir", dir, "import", "k", "--format", "hex"],
                Some(first),
                TIMEOUT
            )
            .status
            .success()
    );
    let tag = sandbox.victim(
        &["--dir", dir, "hmac", "k", "--tagged"],
        Some("order 7"),
        TIMEOUT,
    );
    let tag = tag.stdout.trim().to_string();
    assert!(
        sandbox
            .victim(&["--dir", dir, "rotate", "k"], None, TIMEOUT)
            .status
            .success()
    );
    // What a delete killed at its commit point leaves: no key file, records.
    fs::remove_file(keys.join("k.key")).unwrap();
    // The original module writes the id again.
    let replacement = home_file(&sandbox, "k.new", b"written by a program without versions");
    sandbox.shell_as(
        VICTIM,
        &format!(
            "cp {} {dir}/k.key && chmod 600 {dir}/k.key",
            path_str(&replacement)
        ),
    );
    let versions = sandbox.victim(&["--dir", dir, "versions", "k"], None, TIMEOUT);
    assert_eq!(versions.stdout.trim(), "1 (current)", "{}", versions.stderr);
    let verify = sandbox.victim(
        &["--dir", dir, "verify", "k", &tag, "--tagged", "--quiet"],
        Some("order 7"),
        TIMEOUT,
    );
    assert_eq!(
        verify.code,
        Some(1),
        "a tag of the deleted key verified: {}",
        verify.stderr
    );
    assert!(
        !holds_hex(&keys, first),
        "a record of the deleted key is still on disk"
    );
}

/// Item 3: `link/` and `link/.` opened a symbolically linked key directory
/// that `link` alone is refused for.
#[test]
fn a_linked_key_directory_is_refused_however_the_path_is_spelled() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let home = sandbox.home_of(VICTIM);
    let real = home.join("real");
    assert!(
        sandbox
            .victim(&["--dir", path_str(&real), "init"], None, TIMEOUT)
            .status
            .success()
    );
    symlink(&real, home.join("link")).unwrap();
    for spelling in ["link", "link/", "link/.", "link/./", "link//"] {
        let path = format!("{}/{spelling}", path_str(&home));
        let open = sandbox.victim(&["--dir", &path, "list"], None, TIMEOUT);
        assert_eq!(
            open.code,
            Some(EXIT_INSECURE_PERMISSIONS),
            "{spelling}: {}",
            open.stderr
        );
    }
}

/// Item 3: a key directory whose parent another user can write (without the
/// sticky bit) can be renamed away and replaced by that user.
#[test]
fn a_key_directory_another_user_could_swap_is_refused() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    for (parent_mode, refused) in [
        (0o777, true),
        (0o775, true),
        (0o1777, false),
        (0o755, false),
    ] {
        let parent = sandbox.root().join(format!("shared-{parent_mode:o}"));
        fs::create_dir(&parent).unwrap();
        let keys = parent.join("keys");
        fs::create_dir(&keys).unwrap();
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&keys, Some(VICTIM), Some(VICTIM)).unwrap();
        fs::set_permissions(&parent, fs::Permissions::from_mode(parent_mode)).unwrap();
        let open = sandbox.victim(&["--dir", path_str(&keys), "list"], None, TIMEOUT);
        match refused {
            true => assert_eq!(
                open.code,
                Some(EXIT_INSECURE_PERMISSIONS),
                "parent {parent_mode:o}: {}",
                open.stderr
            ),
            false => assert!(
                open.status.success(),
                "parent {parent_mode:o}: {}",
                open.stderr
            ),
        }
    }
    // The swap itself, as the other user: nothing stops it in a 0777 parent.
    let parent = sandbox.root().join("shared-777");
    sandbox.shell_as(
        ATTACKER,
        &format!("mv {0}/keys {0}/moved && mkdir {0}/keys", path_str(&parent)),
    );
}

/// Item 5: a rotation killed while it writes leaves `.<id>.key.tmp`, a key
/// that was never committed; the next open of the directory removes it.
#[test]
fn a_rotation_killed_mid_write_leaves_no_key_behind_once_the_directory_is_opened() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let dir = path_str(&keys);
    assert!(
        sandbox
            .victim(&["--dir", dir, "generate", "k"], None, TIMEOUT)
            .status
            .success()
    );
    assert!(
        sandbox
            .victim(&["--dir", dir, "rotate", "k"], None, TIMEOUT)
            .status
            .success()
    );
    let uncommitted = "5555555555555555555555555555555555555555555555555555555555555555";
    let new_key = home_file(&sandbox, "next.hex", uncommitted.as_bytes());
    // The second rename of the rotation (the key's commit) is held for 5 s;
    // the victim is killed during it.
    sandbox.victim_killed_in_rename(
        &[
            "--dir",
            dir,
            "rotate",
            "k",
            "--from",
            path_str(&new_key),
            "--format",
            "hex",
        ],
        2,
    );
    assert!(
        keys.join(".k.key.tmp").exists(),
        "the kill did not happen mid-write"
    );
    let list = sandbox.victim(&["--dir", dir, "list"], None, TIMEOUT);
    assert!(list.status.success(), "{}", list.stderr);
    assert!(
        !keys.join(".k.key.tmp").exists(),
        "the uncommitted key is still on disk"
    );
    assert!(
        !holds_hex(&keys, uncommitted),
        "a temporary file still holds the uncommitted key"
    );
    let versions = sandbox.victim(&["--dir", dir, "versions", "k"], None, TIMEOUT);
    assert_eq!(
        versions.stdout.trim(),
        "1\n2 (current)",
        "{}",
        versions.stderr
    );
}

/// Item 5: version directories were made under a temporary name with the
/// writer's pid; one left by a killed writer made a later rotation by a
/// process with the same pid fail with ENOENT.
#[test]
fn a_leftover_named_with_a_live_pid_does_not_break_a_rotation() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let keys = sandbox.home_of(VICTIM).join("keys");
    let dir = path_str(&keys);
    assert!(
        sandbox
            .victim(&["--dir", dir, "generate", "k"], None, TIMEOUT)
            .status
            .success()
    );
    let _ = fs::create_dir(keys.join(".versions"));
    fs::set_permissions(keys.join(".versions"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(keys.join(".versions"), Some(VICTIM), Some(VICTIM)).unwrap();
    // Every pid a short-lived process could get.
    let max_pid: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .map_or(32768, |s| s.trim().parse().unwrap_or(32768));
    let rotated = (0..3).all(|_| {
        let next = next_pid_guess();
        for pid in next..(next + 64).min(max_pid) {
            let name = keys.join(format!(".versions/k.{pid}.0.tmp"));
            let _ = fs::create_dir(&name);
            let _ = std::os::unix::fs::chown(&name, Some(VICTIM), Some(VICTIM));
        }
        sandbox
            .victim(&["--dir", dir, "rotate", "k"], None, TIMEOUT)
            .status
            .success()
    });
    assert!(rotated, "a rotation failed on a leftover directory");
}

/// Item 5: a rotation that failed on a full disk still left the record of
/// the version it meant to keep: a failed call must change nothing.
#[test]
fn a_rotation_failing_on_a_full_disk_changes_nothing() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let Some(mount) = sandbox.small_tmpfs(8) else {
        return;
    };
    let keys = mount.join("keys");
    let dir = path_str(&keys);
    assert!(
        sandbox
            .victim(
                &["--dir", dir, "import", "k", "--format", "hex"],
                Some("aa"),
                TIMEOUT
            )
            .status
            .success()
    );
    let before = tree(&keys);
    // Fill the file system to the last page, as root (the victim cannot).
    fill(&mount);
    let rotate = sandbox.victim(
        &["--dir", dir, "rotate", "k", "--bytes", "32"],
        None,
        TIMEOUT,
    );
    assert_eq!(rotate.code, Some(EXIT_IO), "{}", rotate.stderr);
    assert_eq!(
        tree(&keys),
        before,
        "the failed rotation changed the directory"
    );
}

/// Item 6: any user could create `<tmp>/codomyrmex_keys` first and so block
/// everyone else's default directory with a bare IO error.
#[test]
fn a_default_directory_made_by_another_user_is_refused_by_name() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let tmp = sandbox.root().join("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    sandbox.shell_as(
        ATTACKER,
        &format!("mkdir -m 0700 {}/codomyrmex_keys", path_str(&tmp)),
    );
    let open = sandbox.victim_env(&["list"], &[("TMPDIR", path_str(&tmp))], TIMEOUT);
    assert_eq!(
        open.code,
        Some(EXIT_INSECURE_PERMISSIONS),
        "{}",
        open.stderr
    );
    assert!(
        open.stderr.contains(&format!("uid {ATTACKER}")),
        "{}",
        open.stderr
    );
    assert!(
        open.stderr.contains("CODOMYRMEX_KEY_DIR"),
        "{}",
        open.stderr
    );
    let mine = sandbox.home_of(VICTIM).join("mine");
    let chosen = sandbox.victim_env(
        &["init"],
        &[
            ("TMPDIR", path_str(&tmp)),
            ("CODOMYRMEX_KEY_DIR", path_str(&mine)),
        ],
        TIMEOUT,
    );
    assert!(chosen.status.success(), "{}", chosen.stderr);
    assert_eq!(fs::metadata(&mine).unwrap().uid(), VICTIM);
}

/// Item 6: like the original module's `tempfile.gettempdir()`, a `$TMPDIR`
/// that names no usable directory is passed over, not created.
#[test]
fn a_tmpdir_that_names_no_directory_is_passed_over() {
    let Some(sandbox) = Sandbox::new() else {
        return;
    };
    let missing = sandbox.root().join("no/such/dir");
    let temp = sandbox.home_of(VICTIM).join("temp");
    sandbox.shell_as(VICTIM, &format!("mkdir -m 0700 {}", path_str(&temp)));
    let init = sandbox.victim_env(
        &["init"],
        &[("TMPDIR", path_str(&missing)), ("TEMP", path_str(&temp))],
        TIMEOUT,
    );
    assert!(init.status.success(), "{}", init.stderr);
    assert_eq!(
        init.stdout.trim(),
        format!("{}/codomyrmex_keys", path_str(&temp))
    );
    assert!(!missing.exists(), "the missing $TMPDIR was created");
}

fn home_file(sandbox: &Sandbox, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = sandbox.home_of(VICTIM).join(name);
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&path, Some(VICTIM), Some(VICTIM)).unwrap();
    path
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
