//! The layouts orchestrators make, step by step as they make them.
//!
//! - Kubernetes: the kubelet's atomic writer
//!   (`pkg/volume/util/atomic_writer.go`, `AtomicWriter.Write`) and, with
//!   `fsGroup`, `SetVolumeOwnership` (`pkg/volume/volume_linux.go`), on the
//!   memory-backed emptyDir a Secret volume wraps (a tmpfs mounted without
//!   a mode option: 1777, root).
//! - Docker: `setupSecretDir` (`daemon/container_operations_unix.go`)
//!   writes each secret to a tmpfs (`os.WriteFile` with the reference's
//!   mode, then `Chown`, then `Chmod`; mode 0444, uid and gid 0 unless the
//!   reference says otherwise), and `SecretMounts` bind-mounts each file
//!   read-only at `/run/secrets/<target>`. Compose mounts a `file:` secret
//!   the same way (the host file, with the host's owner and mode) and copies
//!   an `environment:` secret into the container as a plain file.
//! - systemd: `exec-credential.c` (`write_credential`,
//!   `credentials_dir_finalize_permissions`) and `mount_credentials_fs`:
//!   a tmpfs `mode=0700,noswap` (else ramfs), each credential created 0600,
//!   written, `fchmod` 0400, then read access for the service's user by an
//!   ACL, or by `fchown` where the file system has no ACLs; the directory
//!   made read-only (0500) and opened to the user the same way; the whole
//!   file system remounted read-only.
//! - Vault Agent (consul-template's renderer, `AtomicWrite`): parent
//!   directories made 0755 by the agent, the content written to a temporary
//!   file in the same directory, flushed, given `perms`, optionally backed
//!   up as `<dest>.bak` (a hard link), then renamed over the destination;
//!   everything owned by the agent's user.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// A file an orchestrator publishes: its name and content.
pub type Item<'a> = (&'a str, &'a [u8]);

/// Go's `os.WriteFile(path, data, mode)` followed by `os.Chmod(path, mode)`:
/// created (or truncated) with `mode` less the umask, then given `mode`.
fn write_file(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    file.write_all(data)?;
    drop(file);
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    codomyrmex_keys::random_bytes(&mut bytes).unwrap();
    u32::from_le_bytes(bytes)
}

// ---------------------------------------------------------------------------
// Kubernetes.

const DATA_DIR: &str = "..data";
const NEW_DATA_DIR: &str = "..data_tmp";

/// Projects Secret payloads into a volume directory the way the kubelet's
/// `AtomicWriter.Write` does.
pub struct AtomicWriter {
    target: PathBuf,
}

/// What one `write` did, for the tests' figures and checks.
#[derive(Debug)]
pub struct Projection {
    /// The new timestamped directory's name (`..<timestamp>.<random>`).
    pub ts_dir: String,
    /// Whether anything changed (the writer skips an identical payload).
    pub written: bool,
}

impl AtomicWriter {
    pub fn new(target: &Path) -> AtomicWriter {
        AtomicWriter {
            target: target.to_path_buf(),
        }
    }

    /// Writes `payload`, every file with `mode` (the volume's
    /// `defaultMode`); with `fs_group`, applies the pod's fsGroup to the
    /// whole volume before publishing, as the secret plugin's `setPerms`
    /// does. The numbered comments are the steps of `AtomicWriter.Write`.
    pub fn write(
        &self,
        payload: &[Item<'_>],
        mode: u32,
        fs_group: Option<u32>,
    ) -> std::io::Result<Projection> {
        // (2) The current timestamped directory, from the data link.
        let data_dir = self.target.join(DATA_DIR);
        let old_ts = match fs::read_link(&data_dir) {
            Ok(target) => Some(target),
            Err(err) if err.kind() == ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let mut to_remove = Vec::new();
        if let Some(old) = &old_ts {
            // (3) User-visible paths of the old version not in the payload.
            for entry in fs::read_dir(self.target.join(old))? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                if !payload.iter().any(|(n, _)| *n == name) {
                    to_remove.push(name);
                }
            }
            // (4) Nothing to do if the payload is already there.
            let same = payload.iter().all(|(name, data)| {
                fs::read(self.target.join(old).join(name)).is_ok_and(|on_disk| on_disk == *data)
            });
            if same && to_remove.is_empty() {
                self.create_user_visible(payload)?;
                return Ok(Projection {
                    ts_dir: old.to_string_lossy().into_owned(),
                    written: false,
                });
            }
        }
        // (5) A new timestamped directory.
        let ts_dir = self.new_timestamp_dir()?;
        // (6) The payload, into it.
        for (name, data) in payload {
            write_file(&self.target.join(&ts_dir).join(name), data, mode)?;
        }
        // (7) Ownership and permissions, before anything is published.
        if let Some(gid) = fs_group {
            set_volume_ownership(&self.target, gid)?;
        }
        // (8) A link to the new directory, under a temporary name.
        let new_data_dir = self.target.join(NEW_DATA_DIR);
        symlink(&ts_dir, &new_data_dir)?;
        // (9) Renamed over the data link: the atomic switch.
        fs::rename(&new_data_dir, &data_dir)?;
        // (10) The user-visible links, for names that have none yet.
        self.create_user_visible(payload)?;
        // (11) Old user-visible paths not in the payload.
        for name in to_remove {
            fs::remove_file(self.target.join(name))?;
        }
        // (12) The previous timestamped directory.
        if let Some(old) = old_ts {
            fs::remove_dir_all(self.target.join(old))?;
        }
        Ok(Projection {
            ts_dir,
            written: true,
        })
    }

    /// `os.MkdirTemp(target, "..2006_01_02_15_04_05.")` in UTC (mode 0700,
    /// a random decimal suffix), then `os.Chmod(dir, 0755)`.
    fn new_timestamp_dir(&self) -> std::io::Result<String> {
        let (y, mo, d, h, mi, s) = super::utc(std::time::SystemTime::now());
        let prefix = format!("..{y:04}_{mo:02}_{d:02}_{h:02}_{mi:02}_{s:02}.");
        loop {
            let name = format!("{prefix}{}", random_u32());
            let path = self.target.join(&name);
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
                    return Ok(name);
                }
                Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// `<name> -> ..data/<name>` for every name without a link.
    fn create_user_visible(&self, payload: &[Item<'_>]) -> std::io::Result<()> {
        for (name, _) in payload {
            let visible = self.target.join(name);
            if let Err(err) = fs::read_link(&visible)
                && err.kind() == ErrorKind::NotFound
            {
                symlink(Path::new(DATA_DIR).join(name), &visible)?;
            }
        }
        Ok(())
    }
}

/// `SetVolumeOwnership` for a read-only volume (a Secret): every entry,
/// children before their directory, gets group `gid` (`Lchown`); every
/// entry but a symbolic link gets its mode ORed with 0440, and a
/// directory also with 0110 and the set-group-ID bit.
pub fn set_volume_ownership(dir: &Path, gid: u32) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(dir)?;
    if meta.is_dir() {
        for entry in fs::read_dir(dir)? {
            set_volume_ownership(&entry?.path(), gid)?;
        }
    }
    std::os::unix::fs::lchown(dir, None, Some(gid))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mut mask = 0o440;
    if meta.is_dir() {
        mask |= 0o2000 | 0o110;
    }
    fs::set_permissions(
        dir,
        fs::Permissions::from_mode((meta.mode() & 0o7777) | mask),
    )
}

// ---------------------------------------------------------------------------
// Docker and Compose.

/// Writes the secret `name` as the daemon's `setupSecretDir` does into its
/// secrets tmpfs `dir`: `os.WriteFile(path, data, mode)`, `os.Chown(path,
/// uid, gid)`, `os.Chmod(path, mode)`. Returns its path.
pub fn docker_secret_file(
    dir: &Path,
    name: &str,
    data: &[u8],
    uid: u32,
    gid: u32,
    mode: u32,
) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&path)?;
    file.write_all(data)?;
    drop(file);
    std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
    Ok(path)
}

/// The mount point runc makes for a file bind mount inside the container
/// (`/run/secrets` created 0755 on the way, an empty file at the target),
/// then the read-only bind of `source` onto it.
pub fn bind_secret_into_container(
    run_secrets: &Path,
    target_name: &str,
    source: &Path,
) -> std::io::Result<super::Mount> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(run_secrets)?;
    let target = run_secrets.join(target_name);
    File::create(&target)?;
    super::Mount::bind_read_only(source, &target)
}

// ---------------------------------------------------------------------------
// systemd.

/// How systemd gave the service's user access to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The service runs as root: nothing to grant.
    Root,
    /// An ACL entry for the user (tmpfs).
    Acl,
    /// `fchown` to the user (ramfs, which has no ACLs).
    Owner,
}

/// `write_credential`: created `O_EXCL` with mode 0600, written, `fchmod`
/// 0400, then readable by `service_uid` through an ACL, or by ownership
/// where the file system does not support ACLs.
pub fn write_credential(
    dir: &Path,
    id: &str,
    data: &[u8],
    service: Option<(u32, u32)>,
) -> std::io::Result<Access> {
    let path = dir.join(id);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(data)?;
    file.set_permissions(fs::Permissions::from_mode(0o400))?;
    drop(file);
    grant(&path, service, 0o4)
}

/// `credentials_dir_finalize_permissions`: the write bits taken away, then
/// read and search access for the service's user, as for the files.
pub fn finalize_credentials_dir(
    dir: &Path,
    service: Option<(u32, u32)>,
) -> std::io::Result<Access> {
    let (mode, _, _) = super::mode_owner(dir);
    fs::set_permissions(dir, fs::Permissions::from_mode(mode & !0o222))?;
    grant(dir, service, 0o5)
}

fn grant(path: &Path, service: Option<(u32, u32)>, perm: u16) -> std::io::Result<Access> {
    let Some((uid, gid)) = service else {
        return Ok(Access::Root);
    };
    match super::add_user_acl(path, uid, perm) {
        Ok(()) => Ok(Access::Acl),
        Err(err) if err.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
            Ok(Access::Owner)
        }
        Err(err) => Err(err),
    }
}

// ---------------------------------------------------------------------------
// Vault Agent.

/// Renders `contents` to `dest` as Vault Agent's template runner does, as
/// the agent's user `agent` (uid, gid): missing parents made 0755, a
/// temporary file (a random decimal name, mode 0600) written and flushed in
/// the same directory, given `perms`, the previous file linked to
/// `<dest>.bak` if `backup`, then renamed over `dest`.
pub fn vault_render(
    dest: &Path,
    contents: &[u8],
    perms: u32,
    backup: bool,
    agent: (u32, u32),
) -> std::io::Result<()> {
    let parent = dest.parent().unwrap();
    if !parent.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)?;
        std::os::unix::fs::chown(parent, Some(agent.0), Some(agent.1))?;
    }
    let temp = loop {
        let path = parent.join(random_u32().to_string());
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => break (path, file),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    };
    let (temp, mut file) = temp;
    std::os::unix::fs::chown(&temp, Some(agent.0), Some(agent.1))?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    fs::set_permissions(&temp, fs::Permissions::from_mode(perms))?;
    if backup && dest.exists() {
        let bak = dest.with_file_name(format!(
            "{}.bak",
            dest.file_name().unwrap().to_string_lossy()
        ));
        let old = bak.with_file_name(format!(
            "{}.old.bak",
            dest.file_name().unwrap().to_string_lossy()
        ));
        let _ = fs::rename(&bak, &old);
        fs::hard_link(dest, &bak)?;
        let _ = fs::remove_file(&old);
    }
    fs::rename(&temp, dest)
}
