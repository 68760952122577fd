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
    /// Keys shared by many hosts in an etcd v3 cluster, written
    /// `etcd://host1:port1,host2:port2[/prefix]` (needs the cargo feature
    /// `etcd`). Every key lives under `<prefix>/keys/<key_id>/`.
    Etcd {
        /// Client endpoints of the members, `host:port` each, tried in turn.
        endpoints: Vec<String>,
        /// Where the key set starts in etcd's key space: `/` followed by
        /// anything but a trailing `/` ([`DEFAULT_ETCD_PREFIX`] if the
        /// location names none).
        prefix: String,
    },
}

/// The prefix of a mounted source's location string.
const MOUNTED_SCHEME: &[u8] = b"mounted:";

/// The prefix of an etcd source's location string.
const ETCD_SCHEME: &[u8] = b"etcd://";

/// The etcd prefix of a location that names none.
pub const DEFAULT_ETCD_PREFIX: &str = "/codomyrmex_keys";

/// How long one request to etcd may take by default (failover included).
pub const DEFAULT_ETCD_TIMEOUT: Duration = Duration::from_secs(5);

impl Location {
    /// Parses a location string: `mounted:<path>` for a mounted source;
    /// `etcd://host:port[,host:port...][/prefix]` for an etcd cluster; any
    /// other `<scheme>:` prefix (letters, digits, `+-.`, starting with a
    /// letter) is an unknown scheme; everything else is the path of a
    /// private directory (write `./a:b` for a directory named `a:b`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// for an unknown scheme, an empty path, an etcd location without
    /// endpoints or with a malformed one, and any etcd location in a library
    /// built without the `etcd` feature.
    pub fn parse(text: impl AsRef<OsStr>) -> Result<Location> {
        let bytes = text.as_ref().as_bytes();
        if let Some(path) = bytes.strip_prefix(MOUNTED_SCHEME) {
            return Ok(Location::Mounted(non_empty(path, "mounted source")?));
        }
        if let Some(rest) = bytes.strip_prefix(ETCD_SCHEME) {
            let location = parse_etcd(rest)?;
            check_etcd_support(&location)?;
            return Ok(location);
        }
        if let Some(scheme) = scheme_of(bytes) {
            return Err(Error::invalid(
                Argument::Location,
                format!(
                    "unknown key source scheme '{}:' (known: a directory path, mounted:<path>, \
                     etcd://host:port[,host:port...][/prefix]); write ./{} for a directory whose \
                     name has a colon",
                    String::from_utf8_lossy(scheme),
                    String::from_utf8_lossy(bytes)
                ),
            ));
        }
        Ok(Location::Dir(non_empty(bytes, "key directory")?))
    }

    /// The directory of a private or mounted source; empty for a source
    /// that is not a directory (etcd).
    pub fn path(&self) -> &Path {
        match self {
            Location::Dir(path) | Location::Mounted(path) => path,
            Location::Etcd { .. } => Path::new(""),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Dir(path) => write!(f, "{}", path.display()),
            Location::Mounted(path) => write!(f, "mounted:{}", path.display()),
            Location::Etcd { endpoints, prefix } => {
                write!(f, "etcd://{}{prefix}", endpoints.join(","))
            }
        }
    }
}

/// Parses what follows `etcd://`: endpoints separated by commas, then an
/// optional `/prefix` (trailing slashes dropped; none or `/` alone means
/// [`DEFAULT_ETCD_PREFIX`]).
fn parse_etcd(rest: &[u8]) -> Result<Location> {
    let bad = |why: String| Error::invalid(Argument::Location, why);
    let text = std::str::from_utf8(rest)
        .map_err(|_| bad("an etcd location must be valid UTF-8".to_owned()))?;
    let (hosts, path) = match text.find('/') {
        Some(slash) => (&text[..slash], &text[slash..]),
        None => (text, ""),
    };
    let endpoints: Vec<String> = hosts.split(',').map(str::to_owned).collect();
    if endpoints.iter().any(String::is_empty) {
        return Err(bad(format!(
            "etcd location 'etcd://{text}' needs endpoints as host:port, separated by commas"
        )));
    }
    #[cfg(feature = "etcd")]
    for endpoint in &endpoints {
        crate::etcd::check_endpoint(endpoint)
            .map_err(|err| Error::invalid(Argument::Location, err.message()))?;
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(bad(format!(
            "etcd prefix '{trimmed}' has a space or a control character"
        )));
    }
    let prefix = match trimmed {
        "" => DEFAULT_ETCD_PREFIX.to_owned(),
        prefix => prefix.to_owned(),
    };
    Ok(Location::Etcd { endpoints, prefix })
}

/// Refuses an etcd location in a library built without the `etcd` feature.
pub(crate) fn check_etcd_support(location: &Location) -> Result<()> {
    match location {
        Location::Etcd { .. } if !cfg!(feature = "etcd") => Err(Error::invalid(
            Argument::Location,
            format!(
                "'{location}': this library was built without etcd support \
                 (rebuild it with the cargo feature `etcd`)"
            ),
        )),
        _ => Ok(()),
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
    pub(crate) timeout: Duration,
    pub(crate) tls: Option<TlsOptions>,
    pub(crate) auth: Option<AuthOptions>,
}

/// TLS files for a remote source (PEM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    /// CA certificates the server certificates must chain to; `None`: the
    /// system's bundle.
    pub ca_file: Option<PathBuf>,
    /// A client certificate, for servers that require one.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (a private file).
    pub key_file: Option<PathBuf>,
}

/// A user of a remote source and the file holding its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthOptions {
    /// The user name.
    pub user: String,
    /// The password file (a private file; one trailing newline ignored).
    pub password_file: PathBuf,
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
    /// extra trusted owner, writers wait at most [`DEFAULT_LOCK_TIMEOUT`],
    /// no KEK; for etcd, requests bounded by [`DEFAULT_ETCD_TIMEOUT`], plain
    /// HTTP and no authentication.
    pub fn new() -> OpenOptions {
        OpenOptions {
            read_only: false,
            trusted_uid: None,
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            kek: None,
            previous_keks: Vec::new(),
            require_sealed: false,
            timeout: DEFAULT_ETCD_TIMEOUT,
            tls: None,
            auth: None,
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

    /// For an etcd source: the longest one request to the cluster may take,
    /// connecting, failing over between members and retrying included
    /// (default [`DEFAULT_ETCD_TIMEOUT`]); after it the call fails with `Io`
    /// and a message naming every endpoint tried. A zero timeout is refused
    /// when the source is opened.
    pub fn timeout(mut self, timeout: Duration) -> OpenOptions {
        self.timeout = timeout;
        self
    }

    /// For an etcd source: reach the members over TLS. `ca_file` holds the
    /// CA certificates their certificates must chain to (`None`: the
    /// system's bundle); `cert_file` and `key_file` (given together, the key
    /// a private file) are a client certificate for clusters that require
    /// one. All PEM.
    pub fn tls(
        mut self,
        ca_file: Option<PathBuf>,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
    ) -> OpenOptions {
        self.tls = Some(TlsOptions {
            ca_file,
            cert_file,
            key_file,
        });
        self
    }

    /// For an etcd source: authenticate as the etcd user `user`, with the
    /// password in `password_file` (a regular file of this user or root
    /// that nobody else can read; one trailing newline is ignored), read
    /// whenever a new auth token is needed.
    pub fn auth(
        mut self,
        user: impl Into<String>,
        password_file: impl Into<PathBuf>,
    ) -> OpenOptions {
        self.auth = Some(AuthOptions {
            user: user.into(),
            password_file: password_file.into(),
        });
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

    #[test]
    #[cfg(feature = "etcd")]
    fn etcd_locations_name_endpoints_and_a_prefix() {
        let parsed = Location::parse("etcd://10.0.0.1:2379,etcd-2:2379/fleet/web/").unwrap();
        assert_eq!(
            parsed,
            Location::Etcd {
                endpoints: vec!["10.0.0.1:2379".into(), "etcd-2:2379".into()],
                prefix: "/fleet/web".into(),
            }
        );
        assert_eq!(
            parsed.to_string(),
            "etcd://10.0.0.1:2379,etcd-2:2379/fleet/web"
        );
        for default in ["etcd://h:1", "etcd://h:1/", "etcd://h:1//"] {
            let Location::Etcd { prefix, .. } = Location::parse(default).unwrap() else {
                panic!("{default} is an etcd location");
            };
            assert_eq!(prefix, DEFAULT_ETCD_PREFIX);
        }
        for bad in [
            "etcd://",
            "etcd://h:1,,h:2",
            "etcd://h",
            "etcd://h:0/x",
            "etcd://h:1/a b",
        ] {
            let err = Location::parse(bad).unwrap_err();
            assert_eq!(err.argument(), Some(Argument::Location), "{bad}");
        }
    }

    #[test]
    #[cfg(not(feature = "etcd"))]
    fn etcd_locations_need_the_feature() {
        let err = Location::parse("etcd://127.0.0.1:2379").unwrap_err();
        assert_eq!(err.argument(), Some(Argument::Location));
        assert!(err.message().contains("without etcd support"), "{err}");
    }
}
