//! Which key source a run works on: `--dir`, `--source`, the environment or
//! the library's default.

use crate::failure::Failure;
use clap::Args;
use codomyrmex_keys::{KeyManager, Location, OpenOptions};
use std::ffi::OsString;
use std::path::PathBuf;

/// The global options that choose the key source.
#[derive(Args)]
pub struct SourceArgs {
    /// Key directory [default: $CODOMYRMEX_KEY_DIR, else <tmp>/codomyrmex_keys]
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "source")]
    pub dir: Option<PathBuf>,

    /// Key source: a directory path, or mounted:DIR for a read-only directory an
    /// orchestrator fills (Kubernetes Secret volume, Docker secrets, systemd credentials)
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
        let location = match (&self.dir, &self.source) {
            (Some(dir), _) => Location::Dir(dir.clone()),
            (None, Some(text)) => Location::parse(text)?,
            // The library's default honours $CODOMYRMEX_KEY_DIR.
            (None, None) => return Ok(KeyManager::open_default_with(&options)?),
        };
        Ok(KeyManager::open_with(&location, &options)?)
    }
}
