//! Where to open a key store, and how.

use crate::error::{Argument, Error, Result};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another writer's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A private directory this user owns: `<dir>/<key_id>.key`, created if
    /// absent.
    Dir(PathBuf),
    /// A read-only directory an orchestrator fills (a Kubernetes Secret
    /// volume, Docker secrets, systemd credentials, Vault Agent output),
    /// written `mounted:<path>`.
    Mounted(PathBuf),
}

/// The prefix of a mounted source's location string.
const MOUNTED_SCHEME: &[u8] = b"mounted:";

impl Location {
    /// Parses a location string: `mounted:<path>` for a mounted source;
    /// any other `<scheme>:` prefix (letters, digits, `+-.`, starting with a
    /// letter) is an unknown scheme; everything else is the path of a
    /// private directory (write `./a:b` for a directory named `a:b`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// for an unknown scheme or an empty path.
    pub fn parse(text: impl AsRef<OsStr>) -> Result<Location> {
        let bytes = text.as_ref().as_bytes();
        if let Some(path) = bytes.strip_prefix(MOUNTED_SCHEME) {
            return Ok(Location::Mounted(non_empty(path, "mounted source")?));
        }
        if let Some(scheme) = scheme_of(bytes) {
            return Err(Error::invalid(
                Argument::Location,
                format!(
                    "unknown key source scheme '{}:' (known: a directory path, mounted:<path>); \
                     write ./{} for a directory whose name has a colon",
                    String::from_utf8_lossy(scheme),
                    String::from_utf8_lossy(bytes)
                ),
            ));
        }
        Ok(Location::Dir(non_empty(bytes, "key directory")?))
    }

    /// The directory of a private or mounted source.
    pub fn path(&self) -> &Path {
        match self {
            Location::Dir(path) | Location::Mounted(path) => path,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Dir(path) => write!(f, "{}", path.display()),
            Location::Mounted(path) => write!(f, "mounted:{}", path.display()),
        }
    }
}

/// The scheme of `text`, if it starts with one (`name:`).
fn scheme_of(text: &[u8]) -> Option<&[u8]> {
    let colon = text.iter().position(|&b| b == b':')?;
    let scheme = &text[..colon];
    let first_is_letter = scheme.first().is_some_and(u8::is_ascii_alphabetic);
    let rest_ok = scheme
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (first_is_letter && rest_ok).then_some(scheme)
}

fn non_empty(path: &[u8], what: &str) -> Result<PathBuf> {
    if path.is_empty() {
        return Err(Error::invalid(
            Argument::Location,
            format!("the {what} path is empty"),
        ));
    }
    Ok(PathBuf::from(OsString::from_vec(path.to_vec())))
}

/// How to open a key store: every setting has a default, so `OpenOptions::new()`
/// opens a private directory for reading and writing.
///
/// ```
/// use codomyrmex_keys::OpenOptions;
/// use std::time::Duration;
///
/// let options = OpenOptions::new()
///     .read_only(true)
///     .lock_timeout(Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub(crate) read_only: bool,
    pub(crate) trusted_uid: Option<u32>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) kek: Option<KekSource>,
    pub(crate) previous_keks: Vec<KekSource>,
    pub(crate) require_sealed: bool,
}

/// Where a key-encryption key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KekSource {
    /// A private file of exactly 32 bytes.
    File(PathBuf),
    /// `$CREDENTIALS_DIRECTORY/<name>` (systemd credentials).
    Credential(String),
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// The defaults: writable (a mounted source is always read-only), no
    /// extra trusted owner, writers wait at most [`DEFAULT_LOCK_TIMEOUT`].
    pub fn new() -> OpenOptions {
        OpenOptions {
            read_only: false,
            trusted_uid: None,
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            kek: None,
            previous_keks: Vec::new(),
            require_sealed: false,
        }
    }

    /// Refuse every write (store, create, generate, rotate, delete, prune,
    /// stage, promote) with `InvalidArgument`, and create nothing on open.
    pub fn read_only(mut self, read_only: bool) -> OpenOptions {
        self.read_only = read_only;
        self
    }

    /// In a mounted source, also trust files and directories owned by `uid`
    /// (the agent that writes them, such as Vault Agent's user), besides
    /// root and this process's effective user.
    pub fn trusted_uid(mut self, uid: u32) -> OpenOptions {
        self.trusted_uid = Some(uid);
        self
    }

    /// How long a writer waits for another writer of the same key to
    /// finish; `None` waits as long as it takes. After the wait the write
    /// fails with `Io` ("timed out waiting for the lock on <dir>").
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> OpenOptions {
        self.lock_timeout = timeout;
        self
    }

    /// Seal every key file and version record written from now on under
    /// the key-encryption key in the file `path` (exactly 32 bytes; a
    /// regular file of this user or root that nobody else can read), read
    /// once when the store is opened. Files sealed under it are read back;
    /// plain files still are, unless [`OpenOptions::require_sealed`].
    pub fn kek_file(mut self, path: impl Into<PathBuf>) -> OpenOptions {
        self.kek = Some(KekSource::File(path.into()));
        self
    }

    /// Like [`OpenOptions::kek_file`] for the systemd credential `name`
    /// (`$CREDENTIALS_DIRECTORY/<name>`, from `LoadCredential=` or
    /// `LoadCredentialEncrypted=`).
    pub fn kek_credential(mut self, name: impl Into<String>) -> OpenOptions {
        self.kek = Some(KekSource::Credential(name.into()));
        self
    }

    /// Also accept files sealed under the KEK in the file `path` on
    /// reading (the KEK being replaced while a rewrap runs); they are
    /// sealed under the current KEK by [`KeyManager::seal_all`].
    ///
    /// [`KeyManager::seal_all`]: crate::KeyManager::seal_all
    pub fn previous_kek_file(mut self, path: impl Into<PathBuf>) -> OpenOptions {
        self.previous_keks.push(KekSource::File(path.into()));
        self
    }

    /// Refuse plain (unsealed) key files and version records on reading:
    /// `Corrupt`.
    pub fn require_sealed(mut self, require: bool) -> OpenOptions {
        self.require_sealed = require;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_by_scheme() {
        assert_eq!(
            Location::parse("/srv/keys").unwrap(),
            Location::Dir("/srv/keys".into())
        );
        assert_eq!(
            Location::parse("./a:b").unwrap(),
            Location::Dir("./a:b".into())
        );
        assert_eq!(
            Location::parse("mounted:/run/secrets").unwrap(),
            Location::Mounted("/run/secrets".into())
        );
        for bad in ["ftp://host/x", "a:b", "mounted:", ""] {
            let err = Location::parse(bad).unwrap_err();
            assert_eq!(err.argument(), Some(Argument::Location), "{bad}");
        }
        assert_eq!(
            Location::parse("mounted:/x").unwrap().to_string(),
            "mounted:/x"
        );
    }
}
