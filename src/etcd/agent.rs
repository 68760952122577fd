//! The HTTP agents a client uses: plain or TLS (rustls with ring, roots
//! and client certificate from PEM files), with a resolver that starts no
//! thread.

use super::config::{EtcdConfig, TlsFiles, read_private_file};
use crate::error::{Error, ErrorKind, Result};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// CA bundles tried, in order, when TLS is configured without a CA file.
const SYSTEM_CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Builds the HTTP agent for `config`; `per_read` bounds each socket read
/// (for streams, so a reader can look up between reads).
pub(crate) fn build_agent(config: &EtcdConfig, per_read: Option<Duration>) -> Result<ureq::Agent> {
    let mut builder = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("codomyrmex_keys/", env!("CARGO_PKG_VERSION")))
        .timeout_per_read(per_read);
    if let Some(tls) = &config.tls {
        builder = builder.https_only(true).tls_config(tls_config(tls)?);
    }
    Ok(ureq::Agent::with_parts(
        builder.build(),
        DefaultConnector::new(),
        ThreadlessResolver,
    ))
}

/// Resolves without starting a thread: ureq's default resolver starts one
/// per lookup whenever a timeout is set, even for an IP address. Addresses
/// are used as they are; host names go to the system resolver, whose own
/// timeouts then apply.
#[derive(Debug)]
struct ThreadlessResolver;

impl Resolver for ThreadlessResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(authority), Some(port)) = (uri.authority(), uri.port_u16()) else {
            return Err(ureq::Error::BadUri(uri.to_string()));
        };
        let host = authority.host();
        let mut found = self.empty();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            found.push(SocketAddr::new(ip, port));
            return Ok(found);
        }
        for addr in format!("{host}:{port}").to_socket_addrs()?.take(8) {
            found.push(addr);
        }
        if found.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(found)
    }
}

/// The TLS settings: roots from the CA file, and the client certificate
/// with its key when both are given.
fn tls_config(files: &TlsFiles) -> Result<TlsConfig> {
    let ca_path = match &files.ca_file {
        Some(path) => path.clone(),
        None => system_ca_bundle()?,
    };
    let roots = read_certificates(&ca_path, "CA file")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut builder = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .unversioned_rustls_crypto_provider(provider);
    if let (Some(cert_file), Some(key_file)) = (&files.cert_file, &files.key_file) {
        let chain = read_certificates(cert_file, "client certificate")?;
        let key_pem = read_private_file(key_file, "TLS private key")?;
        // ureq keeps its own copy of the key for the client's lifetime.
        let key = PrivateKey::from_pem(&key_pem).map_err(|err| {
            invalid_file(
                key_file,
                "TLS private key",
                &format!("no usable key: {err}"),
            )
        })?;
        builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(builder.build())
}

/// `$SSL_CERT_FILE`, else the first system CA bundle that exists.
fn system_ca_bundle() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        return Ok(PathBuf::from(path));
    }
    SYSTEM_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "etcd TLS: no CA file given and no system CA bundle found",
            )
        })
}

/// Every certificate in the PEM file at `path`; at least one.
fn read_certificates(path: &Path, what: &str) -> Result<Vec<Certificate<'static>>> {
    let pem = std::fs::read(path)
        .map_err(|err| Error::io(&format!("cannot read etcd {what}"), path, &err))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(err) => return Err(invalid_file(path, what, &format!("bad PEM: {err}"))),
        }
    }
    if certs.is_empty() {
        return Err(invalid_file(path, what, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The error for a TLS file that cannot be used.
fn invalid_file(path: &Path, what: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("etcd {what} '{}': {why}", path.display()),
    )
}
