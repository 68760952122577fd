//! Opening a name inside a directory so that symbolic links are followed
//! only while they stay inside it: `openat2` with `RESOLVE_BENEATH` (no
//! absolute links, no `..` above the directory), no magic links, no other
//! mount — with one exception, a regular file mounted at its own name (how
//! Docker places each secret), reached without any link. Kernels without
//! `openat2` (before 5.6) get the same rules resolved component by
//! component.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;

/// How symbolic links may be followed inside a source.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_MAGICLINKS)
    .union(ResolveFlags::NO_XDEV);

/// The most links one resolution follows, as the kernel allows.
const MAX_LINKS: usize = 40;

/// Opens `name` (relative) inside `dir` with `flags`: `EXDEV` if a link
/// leads outside `dir` or onto another mount, `ELOOP` for a loop or a
/// magic link.
pub(super) fn open_beneath(dir: &OwnedFd, name: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    match rustix::fs::openat2(dir, name, flags, Mode::empty(), RESOLVE) {
        Err(Errno::XDEV) if mounted_at_its_name(dir, name) => {
            let no_links = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
            rustix::fs::openat2(dir, name, flags | OFlags::NOFOLLOW, Mode::empty(), no_links)
        }
        Err(Errno::NOSYS) => open_by_hand(dir, name, flags),
        other => other,
    }
}

/// Whether `name` is a plain entry of `dir` (no `/`, not a link) that is a
/// regular file: a file another mount was placed on.
fn mounted_at_its_name(dir: &OwnedFd, name: &[u8]) -> bool {
    !name.contains(&b'/')
        && rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
}

/// [`open_beneath`] for a kernel without `openat2`: every component opened
/// with `O_NOFOLLOW`, links read and resolved by hand, `..` never above
/// `dir`, absolute links and other mounts refused.
fn open_by_hand(dir: &OwnedFd, name: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let walk = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let base_dev = rustix::fs::fstat(dir)?.st_dev;
    let mut stack = vec![rustix::fs::openat(dir, c".", walk, Mode::empty())?];
    let mut pending: VecDeque<Vec<u8>> = components(name).collect();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == b".." {
            if stack.len() == 1 {
                return Err(Errno::XDEV);
            }
            stack.pop();
            continue;
        }
        let here = stack.last().ok_or(Errno::XDEV)?;
        let st = rustix::fs::statat(here, part.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            links += 1;
            let target = rustix::fs::readlinkat(here, part.as_slice(), Vec::new())?;
            if links > MAX_LINKS {
                return Err(Errno::LOOP);
            }
            if target.as_bytes().starts_with(b"/") {
                return Err(Errno::XDEV);
            }
            for (i, piece) in components(target.as_bytes()).enumerate() {
                pending.insert(i, piece);
            }
            continue;
        }
        if st.st_dev != base_dev && !(pending.is_empty() && links == 0) {
            return Err(Errno::XDEV);
        }
        if pending.is_empty() {
            return rustix::fs::openat(
                here,
                part.as_slice(),
                flags | OFlags::NOFOLLOW,
                Mode::empty(),
            );
        }
        let next = rustix::fs::openat(here, part.as_slice(), walk, Mode::empty())?;
        stack.push(next);
    }
    // The name ended in a directory (`a/..`): open it with `flags`.
    let here = stack.last().ok_or(Errno::XDEV)?;
    rustix::fs::openat(here, c".", flags, Mode::empty())
}

/// The components of a relative path, without empty ones and `.`.
fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn open_dir(path: &std::path::Path) -> OwnedFd {
        rustix::fs::open(path, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    #[test]
    fn by_hand_follows_links_inside_and_refuses_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("..2024/sub")).unwrap();
        std::fs::write(root.join("..2024/a.key"), b"a").unwrap();
        std::fs::write(tmp.path().join("outside"), b"x").unwrap();
        symlink("..2024", root.join("..data")).unwrap();
        symlink("..data/a.key", root.join("a.key")).unwrap();
        symlink("../a.key", root.join("..2024/sub/up.key")).unwrap();
        symlink("../outside", root.join("out.key")).unwrap();
        symlink("/etc/passwd", root.join("abs.key")).unwrap();
        symlink("loop.key", root.join("loop.key")).unwrap();
        let dir = open_dir(&root);
        let read = OFlags::RDONLY;
        for name in [
            "a.key",
            "..data/a.key",
            "..2024/sub/up.key",
            "..2024/sub/../a.key",
        ] {
            let fd = open_by_hand(&dir, name.as_bytes(), read).unwrap();
            let kernel = open_beneath(&dir, name.as_bytes(), read).unwrap();
            let (a, b) = (
                rustix::fs::fstat(&fd).unwrap(),
                rustix::fs::fstat(&kernel).unwrap(),
            );
            assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino), "{name}");
        }
        for (name, errno) in [
            ("out.key", Errno::XDEV),
            ("abs.key", Errno::XDEV),
            ("../outside", Errno::XDEV),
            ("loop.key", Errno::LOOP),
            ("missing.key", Errno::NOENT),
        ] {
            assert_eq!(
                open_by_hand(&dir, name.as_bytes(), read).unwrap_err(),
                errno,
                "{name}"
            );
            assert!(open_beneath(&dir, name.as_bytes(), read).is_err(), "{name}");
        }
    }
}
