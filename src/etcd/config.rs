//! What a client connects to and with which credentials, and the checks
//! that run before any network traffic: endpoint syntax, and the rule that
//! a file holding a secret (password, TLS private key) is private.

use crate::error::{Error, ErrorKind, Result, describe_os_error};
use std::fs::OpenOptions;
use std::io::Read;
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// The bound on one call when the configuration does not say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest secret file (password, private key) read, in bytes.
const MAX_SECRET_FILE_LEN: u64 = 64 * 1024;

/// How to reach an etcd cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Client endpoints as `host:port` (`[v6addr]:port` for IPv6), no scheme:
    /// `https` is used when [`EtcdConfig::tls`] is set, `http` otherwise.
    pub endpoints: Vec<String>,
    /// Bound on each call, connection, retries and failover included.
    pub timeout: Duration,
    /// TLS files; `None` means plain HTTP.
    pub tls: Option<TlsFiles>,
    /// etcd user authentication; `None` means none.
    pub auth: Option<AuthConfig>,
}

/// PEM files for TLS. Without a CA file, members' certificates are checked
/// against the system's CA bundle; the client certificate and key go
/// together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificates that sign the members' certificates (default: the
    /// system bundle, or `$SSL_CERT_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain, for clusters that require one.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key; must be private to this user.
    pub key_file: Option<PathBuf>,
}

/// An etcd user and the file that holds its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The etcd user name.
    pub user: String,
    /// A file holding the password (one trailing newline is ignored); it
    /// must be a regular file owned by this user or root, not a symbolic
    /// link, and not accessible by group or others.
    pub password_file: PathBuf,
}

impl EtcdConfig {
    /// A configuration for `endpoints` with the default timeout, no TLS and
    /// no authentication.
    pub fn new(endpoints: Vec<String>) -> Self {
        EtcdConfig {
            endpoints,
            timeout: DEFAULT_TIMEOUT,
            tls: None,
            auth: None,
        }
    }

    /// Checks everything that can be checked without the network: endpoint
    /// syntax, a non-zero timeout, TLS files present as a set, and that the
    /// password file and TLS key are private files.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(invalid("no etcd endpoint given"));
        }
        for endpoint in &self.endpoints {
            check_endpoint(endpoint)?;
        }
        if self.timeout.is_zero() {
            return Err(invalid("the etcd timeout must be more than 0 ms"));
        }
        if let Some(tls) = &self.tls {
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                return Err(invalid(
                    "etcd TLS: a client certificate and its key must be given together",
                ));
            }
            if let Some(key_file) = &tls.key_file {
                read_private_file(key_file, "TLS private key")?;
            }
        }
        if let Some(auth) = &self.auth {
            if auth.user.is_empty() {
                return Err(invalid("etcd user name is empty"));
            }
            read_password(&auth.password_file)?;
        }
        Ok(())
    }

    /// The URL scheme every endpoint is reached with.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// An `InvalidArgument` error: the configuration is wrong.
fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// Accepts `host:port` with a non-empty host of URL-safe characters (or a
/// bracketed IPv6 address) and a port from 1 to 65535.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<()> {
    let bad = |why: &str| invalid(format!("etcd endpoint '{endpoint}' {why}"));
    if endpoint.contains("://") {
        return Err(bad(
            "must be host:port without a scheme (https follows from the TLS setting)",
        ));
    }
    let Some((host, port)) = endpoint.rsplit_once(':') else {
        return Err(bad("has no port (expected host:port)"));
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => {}
        _ => return Err(bad("has no valid port (1 to 65535)")),
    }
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|addr| addr.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()))
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    if host_ok {
        Ok(())
    } else {
        Err(bad("has an invalid host"))
    }
}

/// Reads the password in `path`, without one trailing newline (`\n` or
/// `\r\n`). It must be UTF-8 and not empty.
pub(crate) fn read_password(path: &Path) -> Result<Zeroizing<String>> {
    let mut bytes = read_private_file(path, "password file")?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(invalid(format!(
            "etcd password file '{}' is empty",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        invalid(format!(
            "etcd password file '{}' is not UTF-8 text",
            path.display()
        ))
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads a file that holds a secret, refusing one that is not private: it
/// must be a regular file (not a symbolic link) owned by the effective user
/// or root, with no permission for group or others. The bytes are wiped
/// when the result is dropped.
pub(crate) fn read_private_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let shown = path.display();
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ELOOP) => Error::new(
                ErrorKind::InsecurePermissions,
                format!("etcd {what} '{shown}' is a symbolic link; it must be a regular file"),
            ),
            _ => Error::io(&format!("cannot open etcd {what}"), path, &err),
        })?;
    let meta = file
        .metadata()
        .map_err(|err| Error::io(&format!("cannot inspect etcd {what}"), path, &err))?;
    if !meta.file_type().is_file() {
        return Err(invalid(format!(
            "etcd {what} '{shown}' is not a regular file"
        )));
    }
    let uid = effective_uid()?;
    if meta.uid() != uid && meta.uid() != 0 {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "etcd {what} '{shown}' is owned by uid {}, not by this user (uid {uid}) or root",
                meta.uid()
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "etcd {what} '{shown}' is accessible by group or others (mode {mode:04o}, expected 0600 or 0400)"
            ),
        ));
    }
    if meta.len() > MAX_SECRET_FILE_LEN {
        return Err(invalid(format!(
            "etcd {what} '{shown}' has {} bytes, over the limit of {MAX_SECRET_FILE_LEN}",
            meta.len()
        )));
    }
    // Room for the whole file up front, so reading never reallocates.
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    (&mut file)
        .take(MAX_SECRET_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(|err| Error::io(&format!("cannot read etcd {what}"), path, &err))?;
    Ok(bytes)
}

/// The effective user id of this process, from `/proc/self/status` (its
/// `Uid:` line lists real, effective, saved and filesystem ids).
fn effective_uid() -> Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|err| {
        Error::new(
            ErrorKind::Io,
            format!(
                "cannot read /proc/self/status to learn the effective uid: {}",
                describe_os_error(&err)
            ),
        )
    })?;
    parse_effective_uid(&status).ok_or_else(|| {
        Error::new(
            ErrorKind::Io,
            "no effective uid in /proc/self/status".to_owned(),
        )
    })
}

/// The second field of the `Uid:` line of a `/proc/<pid>/status` text.
fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn endpoints_are_host_and_port() {
        for good in [
            "127.0.0.1:2379",
            "etcd-1.example:1",
            "[::1]:2379",
            "h:65535",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1",
            "http://127.0.0.1:2379",
            "h:0",
            "h:65536",
            ":2379",
            "[::1:2379",
            "[127.0.0.1]:1",
            "h/x:1",
            "a b:1",
        ] {
            let err = check_endpoint(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn effective_uid_is_the_second_uid_field() {
        let status = "Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n";
        assert_eq!(parse_effective_uid(status), Some(1001));
        assert_eq!(parse_effective_uid("Name: x\n"), None);
        assert!(effective_uid().is_ok());
    }

    #[test]
    fn password_files_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_password(&path).unwrap().as_str(), "s3cret");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_password(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsecurePermissions);
        assert!(!err.message().contains("s3cret"));

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = read_password(&link).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsecurePermissions);

        let missing = read_password(&dir.path().join("none")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Io);
    }

    #[test]
    fn tls_client_files_go_together() {
        let mut config = EtcdConfig::new(vec!["127.0.0.1:2379".into()]);
        config.tls = Some(TlsFiles::default());
        assert!(config.validate().is_ok());
        config.tls = Some(TlsFiles {
            ca_file: Some("ca.pem".into()),
            cert_file: Some("c.pem".into()),
            key_file: None,
        });
        assert_eq!(
            config.validate().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        config.tls = None;
        config.timeout = Duration::ZERO;
        assert!(config.validate().is_err());
    }
}
