//! How to open a key store.

use std::path::PathBuf;
use std::time::Duration;

/// How long a writer waits for another writer's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one request to etcd may take by default (failover included).
pub const DEFAULT_ETCD_TIMEOUT: Duration = Duration::from_secs(5);

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
