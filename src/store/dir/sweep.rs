//! Cleaning up after writers that were killed: temporary files and the
//! records of keys that no longer exist, removed when the sweep can prove
//! that no writer uses them (it holds the key's lock, or the process that
//! made a name is gone).

use super::DirBackend;
use super::file::remove_if_present;
use super::history::VERSIONS_DIR;
use super::key_id_of_temp;
use super::lock::try_lock_key;
use crate::store::fs::{FileName, for_each_name, join};
use crate::store::key_id::is_valid_key_id;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// Removes what killed writers left in the key directory. Best effort:
/// whatever cannot be removed now stays harmless (temporary files are never
/// read; records that match no key file are ignored) and is removed by the
/// next write of its key.
pub(super) fn sweep(backend: &DirBackend) {
    let mut names = Vec::new();
    // A directory that cannot be listed is reported by the call that needs
    // it; here there is simply nothing to sweep.
    let _ = for_each_name(&backend.dir, backend.path(), |name| {
        if name.starts_with(b".") && name.ends_with(b".tmp") {
            names.extend(CString::new(name));
        }
    });
    for name in names {
        sweep_root_temporary(backend, &name);
    }
    sweep_versions(backend);
}

/// `.<id>.key.tmp`, or a name a 1.0 writer made while creating the lock
/// file or the versions directory.
fn sweep_root_temporary(backend: &DirBackend, name: &CString) {
    if let Some(id) = key_id_of_temp(name.to_bytes()) {
        if let Ok(Some(_lock)) = try_lock_key(&backend.dir, backend.path(), id) {
            let _ = remove_if_present(&backend.dir, backend.path(), name);
        }
    } else if let Some(rest) = name.to_bytes().strip_prefix(b".lock.") {
        remove_if_dead(&backend.dir, name, rest, AtFlags::empty());
    } else if let Some(rest) = name.to_bytes().strip_prefix(b".versions.") {
        remove_if_dead(&backend.dir, name, rest, AtFlags::REMOVEDIR);
    }
}

/// The record directories of keys that no longer exist, the temporaries in
/// the others, and directories a 1.0 writer was making.
fn sweep_versions(backend: &DirBackend) {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(versions) = rustix::fs::openat(&backend.dir, VERSIONS_DIR, flags, Mode::empty()) else {
        return;
    };
    let versions_path = join(backend.path(), VERSIONS_DIR);
    let mut names = Vec::new();
    let _ = for_each_name(&versions, &versions_path, |name| {
        if name != b"." && name != b".." {
            names.extend(CString::new(name));
        }
    });
    for name in names {
        let bytes = name.to_bytes();
        match std::str::from_utf8(bytes) {
            Ok(id) if is_valid_key_id(bytes) && !bytes.ends_with(b".tmp") => {
                sweep_history(backend, id)
            }
            _ => {
                if let Some(rest) = legacy_temp_suffix(bytes) {
                    remove_if_dead(&versions, &name, rest, AtFlags::REMOVEDIR);
                }
            }
        }
    }
}

/// Under the key's lock: removes the records of a key whose file is gone,
/// or the temporaries among the records of one that exists.
fn sweep_history(backend: &DirBackend, id: &str) {
    let Ok(Some(_lock)) = try_lock_key(&backend.dir, backend.path(), id) else {
        return;
    };
    let key_name = FileName::new("", id, ".key");
    match rustix::fs::statat(&backend.dir, &*key_name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => {
            let _ = backend.remove_history(id);
        }
        Ok(_) => {
            if let Ok(Some(history)) = backend.history(id, false)
                && let Ok(listing) = history.list()
                && !listing.temporaries.is_empty()
            {
                let _ = history.remove(&[], &listing.temporaries);
            }
        }
        Err(_) => {}
    }
}

/// `<pid>.<n>.tmp` after the prefix of a name a 1.0 writer made in
/// `.versions` (`<id>.<pid>.<n>.tmp`): the part from the pid on.
fn legacy_temp_suffix(name: &[u8]) -> Option<&[u8]> {
    let stem = name.strip_suffix(b".tmp")?;
    let mut dots = stem
        .iter()
        .enumerate()
        .rev()
        .filter(|&(_, &b)| b == b'.')
        .map(|(at, _)| at);
    let _counter_dot = dots.next()?;
    let pid_dot = dots.next()?;
    Some(&name[pid_dot + 1..])
}

/// Removes `name` (made by a 1.0 writer as `<prefix><pid>.<n>.tmp`, `rest`
/// being `<pid>.<n>.tmp`) if no process with that pid exists any more.
fn remove_if_dead(dir: &OwnedFd, name: &CString, rest: &[u8], flags: AtFlags) {
    let pid = rest
        .split(|&b| b == b'.')
        .next()
        .and_then(|pid| std::str::from_utf8(pid).ok())
        .and_then(|pid| pid.parse::<i32>().ok())
        .and_then(Pid::from_raw);
    let Some(pid) = pid else {
        return;
    };
    if rustix::process::test_kill_process(pid) == Err(Errno::SRCH) {
        let _ = rustix::fs::unlinkat(dir, name.as_c_str(), flags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_temporaries_are_recognised() {
        assert_eq!(
            legacy_temp_suffix(b"k.4242.0.tmp"),
            Some(&b"4242.0.tmp"[..])
        );
        assert_eq!(
            legacy_temp_suffix(b"a.b.4242.7.tmp"),
            Some(&b"4242.7.tmp"[..])
        );
        assert_eq!(legacy_temp_suffix(b"k.tmp"), None);
    }
}
