//! The key store on etcd: the behaviour suite that the private directory
//! passes, run on both (`store_suite`), and what only etcd has: its layout
//! and sealed values as another etcd client sees them, TLS and
//! authentication, and the open options of the C interface.

mod etcd_support;
mod store_suite;

use codomyrmex_keys::{ErrorKind, KeyManager, Location, OpenOptions, Version};
use etcd_support::{Cluster, bounded, prefix, shared_cluster};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store_suite::{DirSource, Source, kind, v};

/// Requests on the shared cluster never need long.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh private directory and a key manager on it.
fn fresh_dir() -> (tempfile::TempDir, KeyManager) {
    let tmp = tempfile::tempdir().unwrap();
    let km = KeyManager::open(tmp.path().join("keys")).unwrap();
    (tmp, km)
}

/// The shared cluster and a key manager on a fresh prefix of it.
fn fresh_etcd(name: &str) -> (Arc<Cluster>, KeyManager) {
    let cluster = shared_cluster();
    let km = cluster.open(&prefix(name), TIMEOUT);
    (cluster, km)
}

#[test]
fn keys_round_trip_on_a_directory_and_on_etcd() {
    let (_tmp, dir) = fresh_dir();
    store_suite::keys_round_trip(&dir);
    let (_cluster, etcd) = fresh_etcd("round-trip");
    store_suite::keys_round_trip(&etcd);
}

#[test]
fn versions_and_tagged_macs_on_a_directory_and_on_etcd() {
    let (_tmp, dir) = fresh_dir();
    store_suite::versions_and_tagged_macs(&dir);
    let (_cluster, etcd) = fresh_etcd("versions");
    store_suite::versions_and_tagged_macs(&etcd);
}

#[test]
fn staged_rotation_on_a_directory_and_on_etcd() {
    let (_tmp, dir) = fresh_dir();
    store_suite::staged_rotation(&dir);
    let (_cluster, etcd) = fresh_etcd("staged");
    store_suite::staged_rotation(&etcd);
}

/// etcd as a [`Source`]: the raw values under its prefix.
struct EtcdSource {
    cluster: Arc<Cluster>,
    prefix: String,
}

impl Source for EtcdSource {
    fn open(&self, options: OpenOptions) -> KeyManager {
        KeyManager::open_with(
            &self.cluster.location(&self.prefix),
            &options.timeout(TIMEOUT),
        )
        .unwrap()
    }

    fn raw_values(&self) -> Vec<Vec<u8>> {
        let entries = self.cluster.raw_entries(&self.prefix);
        entries.into_iter().map(|(_, value)| value).collect()
    }

    fn copy_current(&self, km: &KeyManager, from: &str, to: &str) {
        let entry = |id: &str| {
            let current = km.key(id).unwrap().versions().unwrap().current;
            format!("{}/keys/{id}/v/{:010}", self.prefix, current)
        };
        let client = self.cluster.client();
        let value = client
            .range(entry(from).as_bytes())
            .unwrap()
            .kvs
            .remove(0)
            .value;
        client.put(entry(to).as_bytes(), &value).unwrap();
    }
}

#[test]
fn sealing_on_a_directory_and_on_etcd() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    store_suite::sealing(&DirSource(keys));
    let etcd = EtcdSource {
        cluster: shared_cluster(),
        prefix: prefix("sealing"),
    };
    store_suite::sealing(&etcd);
}

/// What another etcd client sees: the manifest, zero-padded version
/// entries, the delete marker; a sealed version moved to another version
/// number is refused.
#[test]
fn layout_in_etcd_and_sealed_values_bound_to_their_version() {
    let cluster = shared_cluster();
    let prefix = prefix("layout");
    let kek_dir = tempfile::tempdir().unwrap();
    let options = cluster
        .options(TIMEOUT)
        .kek_file(store_suite::kek_file(kek_dir.path()));
    let km = KeyManager::open_with(&cluster.location(&prefix), &options).unwrap();
    km.store("api", b"version one").unwrap();
    km.rotate("api", b"version two").unwrap();
    km.stage("api", b"version three").unwrap();
    let names: Vec<String> = cluster
        .raw_entries(&prefix)
        .into_iter()
        .map(|(key, _)| String::from_utf8(key).unwrap())
        .collect();
    let base = format!("{prefix}/keys/api/");
    assert_eq!(
        names,
        [
            format!("{base}current"),
            format!("{base}v/0000000001"),
            format!("{base}v/0000000002"),
            format!("{base}v/0000000003"),
        ]
    );
    let client = cluster.client();
    let manifest = client.range(format!("{base}current").as_bytes()).unwrap();
    let text = String::from_utf8(manifest.kvs[0].value.as_bytes().to_vec()).unwrap();
    assert!(
        text.starts_with(r#"{"current":2,"staged":[3],"txn":""#),
        "{text}"
    );

    let one = client
        .range(format!("{base}v/0000000001").as_bytes())
        .unwrap();
    client
        .put(format!("{base}v/0000000002").as_bytes(), &one.kvs[0].value)
        .unwrap();
    let err = km.get("api").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert!(err.message().contains("another key"), "{err}");

    km.delete("api").unwrap();
    let left = cluster.raw_entries(&prefix);
    assert_eq!(left.len(), 1, "only the delete marker is left");
    assert_eq!(left[0].0, format!("{base}deleted").into_bytes());
    assert!(left[0].1.starts_with(br#"{"txn":""#));
    assert!(!km.exists("api").unwrap());
    assert_eq!(km.list().unwrap(), Vec::<String>::new());

    // Version entries put there by hand are removed when the id is made again.
    client
        .put(format!("{base}v/0000000007").as_bytes(), b"junk")
        .unwrap();
    client
        .put(format!("{base}v/1").as_bytes(), b"junk")
        .unwrap();
    km.create("api", b"reborn").unwrap();
    let names: Vec<Vec<u8>> = cluster
        .raw_entries(&prefix)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expected = [format!("{base}current"), format!("{base}v/0000000001")];
    assert_eq!(names, expected.map(String::into_bytes));
    assert_eq!(km.get("api").unwrap().as_bytes(), b"reborn");
}

/// Two managers (two hosts) on the same prefix see each other's changes
/// at once, and read-only ones refuse to write.
#[test]
fn hosts_share_one_key_set() {
    let cluster = shared_cluster();
    let prefix = prefix("hosts");
    let first = cluster.open(&prefix, TIMEOUT);
    let second = cluster.open(&prefix, TIMEOUT);
    first.generate("shared", 32).unwrap();
    assert_eq!(second.get("shared").unwrap(), first.get("shared").unwrap());
    let staged = second.stage_generate("shared", 32).unwrap();
    let key = first.key("shared").unwrap();
    assert_eq!(key.versions().unwrap().staged, [staged]);
    let early = second
        .key("shared")
        .unwrap()
        .at(Version::Number(staged))
        .hmac_tagged(codomyrmex_keys::HashAlg::Sha256, b"m")
        .unwrap();
    key.hmac_verify_tagged(codomyrmex_keys::HashAlg::Sha256, b"m", early.as_bytes())
        .unwrap();
    first.promote("shared", staged).unwrap();
    assert_eq!(
        second.key("shared").unwrap().current_version().unwrap(),
        staged
    );

    let options = cluster.options(TIMEOUT).read_only(true);
    let reader = KeyManager::open_with(&cluster.location(&prefix), &options).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.get("shared").unwrap(), first.get("shared").unwrap());
    let err = reader.rotate("shared", b"nope").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("read-only"), "{err}");

    let other = cluster.open(&format!("{prefix}-other"), TIMEOUT);
    assert_eq!(
        other.list().unwrap(),
        Vec::<String>::new(),
        "prefixes are apart"
    );
    let status = first.source_status().unwrap().expect("etcd has a status");
    assert_eq!((status.members_reachable, status.members), (3, 3));
    assert!(status.revision > 0);
}

/// Locations: endpoints checked when parsed, an unreachable cluster fails
/// the first call (not the open) with `Io` within the timeout, naming
/// every endpoint.
#[test]
fn unreachable_endpoints_fail_within_the_timeout() {
    let closed: Vec<String> = (0..3)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().to_string()
        })
        .collect();
    let location = Location::parse(format!("etcd://{}", closed.join(","))).unwrap();
    assert_eq!(
        location.to_string(),
        format!("etcd://{}/codomyrmex_keys", closed.join(","))
    );
    let options = OpenOptions::new().timeout(Duration::from_millis(600));
    let km = KeyManager::open_with(&location, &options).unwrap();
    let started = Instant::now();
    let err = bounded(Duration::from_secs(5), move || {
        km.rotate("k", b"new").unwrap_err()
    });
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    for endpoint in &closed {
        assert!(err.message().contains(endpoint.as_str()), "{err}");
    }
    let zero = OpenOptions::new().timeout(Duration::ZERO);
    assert_eq!(
        kind(KeyManager::open_with(&location, &zero)),
        ErrorKind::InvalidArgument
    );
    let half_tls = OpenOptions::new().tls(None, Some("c.pem".into()), None);
    assert_eq!(
        kind(KeyManager::open_with(&location, &half_tls)),
        ErrorKind::InvalidArgument
    );
    let bad = Location::parse("etcd://127.0.0.1:99999");
    assert_eq!(kind(bad), ErrorKind::InvalidArgument);
}

/// TLS with a client certificate and authentication with a password file,
/// on a cluster started with both: the store works; a wrong CA, a missing
/// client certificate, no credentials or a wrong password are refused.
#[test]
fn tls_and_authentication() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = Cluster::start(&["--tls", "--auth"]);
    let prefix = "/secure";
    let km = cluster.open(prefix, TIMEOUT);
    km.generate("api", 32).unwrap();
    let old = km.rotate("api", b"rotated over tls").unwrap().unwrap();
    assert_eq!(old.len(), 32);
    store_suite::staged_rotation(&km);

    let location = cluster.location(prefix);
    let attempt = |options: OpenOptions| {
        let km = KeyManager::open_with(&location, &options.timeout(Duration::from_secs(2)))?;
        km.get("api")
    };
    let tls = |ca: &str| {
        OpenOptions::new().tls(
            Some(cluster.path(ca)),
            Some(cluster.path("ETCD_CERT_FILE")),
            Some(cluster.path("ETCD_KEY_FILE")),
        )
    };
    let auth = |options: OpenOptions, password: &std::path::Path| {
        options.auth(cluster.var("ETCD_USER"), password)
    };
    let password = cluster.path("ETCD_PASSWORD_FILE");
    let started = Instant::now();
    let err = attempt(auth(tls("ETCD_OTHER_CA_FILE"), &password)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a wrong CA fails at once"
    );
    let no_client_cert = OpenOptions::new().tls(Some(cluster.path("ETCD_CA_FILE")), None, None);
    assert!(attempt(auth(no_client_cert, &password)).is_err());
    let err = attempt(tls("ETCD_CA_FILE")).unwrap_err();
    assert_ne!(err.kind(), ErrorKind::NotFound, "no credentials: {err}");

    let tmp = tempfile::tempdir().unwrap();
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = attempt(auth(tls("ETCD_CA_FILE"), &wrong)).unwrap_err();
    assert!(!err.message().contains("not-the-password"), "{err}");
    std::fs::set_permissions(&wrong, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = attempt(auth(tls("ETCD_CA_FILE"), &wrong)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsecurePermissions, "{err}");
    assert_eq!(
        attempt(auth(tls("ETCD_CA_FILE"), &password)).unwrap(),
        km.get("api").unwrap()
    );
}

/// The CLI on an etcd source: `--source etcd://...` with its options, and
/// `status` with the revision and the members that answered.
#[cfg(feature = "cli")]
#[test]
fn cli_on_etcd() {
    use std::process::Command;
    let cluster = shared_cluster();
    let source = format!("etcd://{}{}", cluster.endpoints(), prefix("cli"));
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_codomyrmex-keys"))
            .args(["--source", &source, "--timeout-ms", "3000"])
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.code().unwrap_or(-1), stdout, stderr)
    };
    let ok = |args: &[&str]| {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stdout
    };
    ok(&["generate", "api"]);
    assert_eq!(ok(&["rotate", "api"]), "2\n");
    assert_eq!(ok(&["stage", "api"]), "3\n");
    let status = ok(&["status"]);
    let fields: Vec<&str> = status.trim_end().split(' ').collect();
    assert_eq!(
        fields[..4],
        ["api", "current=2", "retained=1", "staged=3"],
        "{status}"
    );
    let revision: u64 = fields[4]
        .strip_prefix("revision=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(revision > 0);
    assert_eq!(fields[5], "members=3/3", "{status}");
    ok(&["promote", "api", "3"]);
    assert_eq!(ok(&["versions", "api"]), "1\n2\n3 (current)\n");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("message");
    std::fs::write(&data, b"message").unwrap();
    let data = data.to_str().unwrap();
    let tag = ok(&["hmac", "api", data, "--tagged"]);
    assert!(
        tag.starts_with("0100000003"),
        "made with the promoted version: {tag}"
    );
    ok(&["verify", "api", tag.trim_end(), data, "--tagged"]);

    let (code, _, stderr) = run(&["--timeout-ms", "0", "list"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(&["--tls-cert", "/c.pem", "list"]);
    assert_eq!(code, 2, "{stderr}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_codomyrmex-keys"))
        .args([
            "--source",
            &format!("etcd://{closed}"),
            "--timeout-ms",
            "300",
            "status",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(19), "{stderr}");
    assert!(stderr.contains(&closed.to_string()), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The C interface on etcd: the options of §12 set through their setters,
/// the key manager opened on the cluster, its location as its "dir".
#[test]
#[allow(unsafe_code)]
fn c_interface_opens_etcd_with_its_options() {
    use codomyrmex_keys::ffi::key_manager::*;
    use codomyrmex_keys::ffi::options::*;
    use codomyrmex_keys::ffi::status::codomyrmex_status::*;
    use std::ffi::{CStr, CString};
    let cluster = shared_cluster();
    let location = cluster.location(&prefix("c-interface")).to_string();
    let c_location = CString::new(location.clone()).unwrap();
    // SAFETY: every pointer is valid for the call; handles are freed once.
    unsafe {
        let mut opts = std::ptr::null_mut();
        assert_eq!(codomyrmex_open_options_new(&mut opts), CODOMYRMEX_OK);
        assert_eq!(
            codomyrmex_open_options_set_timeout_ms(opts, 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            codomyrmex_open_options_set_timeout_ms(opts, 3000),
            CODOMYRMEX_OK
        );
        let mut km = std::ptr::null_mut();
        assert_eq!(
            codomyrmex_key_manager_open_with(c_location.as_ptr(), opts, &mut km),
            CODOMYRMEX_OK
        );
        codomyrmex_open_options_free(opts);
        assert_eq!(
            codomyrmex_key_manager_generate(km, c"api".as_ptr(), 32),
            CODOMYRMEX_OK
        );
        let mut exists = false;
        assert_eq!(
            codomyrmex_key_manager_exists(km, c"api".as_ptr(), &mut exists),
            CODOMYRMEX_OK
        );
        assert!(exists);
        let mut version = 0;
        assert_eq!(
            codomyrmex_key_manager_stage_generate(km, c"api".as_ptr(), 32, &mut version),
            CODOMYRMEX_OK
        );
        assert_eq!(
            codomyrmex_key_manager_promote(km, c"api".as_ptr(), version),
            CODOMYRMEX_OK
        );
        assert_eq!(
            codomyrmex_key_manager_promote(km, c"api".as_ptr(), 9),
            CODOMYRMEX_ERR_NOT_FOUND
        );
        let mut shown = [0 as std::ffi::c_char; 512];
        let mut len = 0;
        let status = codomyrmex_key_manager_dir(km, shown.as_mut_ptr(), shown.len(), &mut len);
        assert_eq!(status, CODOMYRMEX_OK);
        assert_eq!(CStr::from_ptr(shown.as_ptr()).to_str().unwrap(), location);
        assert_eq!(len, location.len() + 1);
        codomyrmex_key_manager_free(km);
    }
    let versions = cluster
        .open(&prefix("c-interface"), TIMEOUT)
        .key("api")
        .unwrap()
        .versions()
        .unwrap();
    assert_eq!((versions.current, versions.retained), (v(2), vec![v(1)]));
}
