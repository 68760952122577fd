//! Where a key store is: a private directory, a mounted source or an etcd
//! cluster, and the location strings that name them.

use crate::error::{Argument, Error, Result};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

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
