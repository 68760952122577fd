//! Which key source a run works on: `--dir`, `--source`, the environment or
//! the library's default; and how to reach an etcd source.

use crate::failure::Failure;
use clap::Args;
use codomyrmex_keys::{KeyManager, Location, OpenOptions};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The global options that choose the key source.
#[derive(Args)]
pub struct SourceArgs {
    /// Key directory [default: $CODOMYRMEX_KEY_DIR, else <tmp>/codomyrmex_keys]
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "source")]
    pub dir: Option<PathBuf>,

    /// Key source: a directory path, mounted:DIR for a read-only directory an
    /// orchestrator fills (Kubernetes Secret volume, Docker secrets, systemd credentials),
    /// or etcd://HOST:PORT[,HOST:PORT...][/PREFIX] for a key set shared by many hosts
    #[arg(long, global = true, value_name = "LOCATION")]
    pub source: Option<OsString>,

    /// In a mounted source, also trust files and directories owned by this uid
    /// (the agent that writes them, such as Vault Agent's user)
    #[arg(long, global = true, value_name = "UID")]
    pub trusted_uid: Option<u32>,

    /// Seal what is written under the key-encryption key in FILE (32 bytes,
    /// private to this user), and read what is sealed under it
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "kek_credential"
    )]
    pub kek: Option<PathBuf>,

    /// Like --kek, with the systemd credential NAME ($CREDENTIALS_DIRECTORY/NAME)
    #[arg(long, global = true, value_name = "NAME")]
    pub kek_credential: Option<String>,

    /// Refuse key files and versions that are not sealed
    #[arg(long, global = true)]
    pub require_sealed: bool,

    /// etcd: the longest one request to the cluster may take, failover included
    /// [default: 5000]
    #[arg(long, global = true, value_name = "MS", value_parser = clap::value_parser!(u32).range(1..))]
    pub timeout_ms: Option<u32>,

    /// etcd: reach the members over TLS, trusting the CA certificates in FILE (PEM)
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// etcd: reach the members over TLS with this client certificate (PEM; with --tls-key)
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// etcd: the client certificate's private key (PEM, a file only this user can read)
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// etcd: authenticate as this etcd user (with --etcd-password-file)
    #[arg(
        long,
        global = true,
        value_name = "USER",
        requires = "etcd_password_file"
    )]
    pub etcd_user: Option<String>,

    /// etcd: the file holding the etcd user's password (only this user may read it)
    #[arg(long, global = true, value_name = "FILE", requires = "etcd_user")]
    pub etcd_password_file: Option<PathBuf>,
}

impl SourceArgs {
    /// Opens the key source: `--dir`, else `--source`, else
    /// `$CODOMYRMEX_KEY_DIR` if set and non-empty, else the library's
    /// default directory.
    pub fn open(&self) -> Result<KeyManager, Failure> {
        let mut options = OpenOptions::new();
        if let Some(path) = &self.kek {
            options = options.kek_file(path);
        }
        if let Some(name) = &self.kek_credential {
            options = options.kek_credential(name);
        }
        self.open_with(options)
    }

    /// Whether a KEK was given (`--kek` or `--kek-credential`).
    pub fn has_kek(&self) -> bool {
        self.kek.is_some() || self.kek_credential.is_some()
    }

    /// [`SourceArgs::open`] with `options` instead of the KEK options; the
    /// other global options still apply.
    pub fn open_with(&self, mut options: OpenOptions) -> Result<KeyManager, Failure> {
        if let Some(uid) = self.trusted_uid {
            options = options.trusted_uid(uid);
        }
        options = options.require_sealed(self.require_sealed);
        if let Some(ms) = self.timeout_ms {
            options = options.timeout(Duration::from_millis(u64::from(ms)));
        }
        if self.tls_ca.is_some() || self.tls_cert.is_some() {
            options = options.tls(
                self.tls_ca.clone(),
                self.tls_cert.clone(),
                self.tls_key.clone(),
            );
        }
        if let (Some(user), Some(file)) = (&self.etcd_user, &self.etcd_password_file) {
            options = options.auth(user.clone(), file.clone());
        }
        let location = match (&self.dir, &self.source) {
            (Some(dir), _) => Location::Dir(dir.clone()),
            (None, Some(text)) => Location::parse(text)?,
            // The library's default honours $CODOMYRMEX_KEY_DIR.
            (None, None) => return Ok(KeyManager::open_default_with(&options)?),
        };
        Ok(KeyManager::open_with(&location, &options)?)
    }
}
