//! Real 3-member etcd clusters for the key-store tests, started with
//! `scripts/etcd-cluster.sh` (which installs etcd when it is missing). A
//! cluster belongs to the process that started it: stopped when its
//! fixture is dropped, and by the script's watchdog if the process dies
//! first. A cluster that cannot be started fails the test that needed it.

#![allow(dead_code)]

pub mod proxy;

use codomyrmex_keys::etcd_client_for_tests::{Client, EtcdConfig, RangeRequest};
use codomyrmex_keys::{KeyManager, Location, OpenOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// A running cluster; stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

/// Cluster starts are serialized: the first may install packages.
static STARTING: Mutex<()> = Mutex::new(());

impl Cluster {
    /// Starts a cluster with the script's `flags` (`--tls`, `--auth`).
    pub fn start(flags: &[&str]) -> Cluster {
        let _turn = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("codomyrmex-etcd-store-")
            .tempdir()
            .expect("temporary directory");
        let pid = std::process::id().to_string();
        let output = script()
            .arg("start")
            .arg(dir.path())
            .args(flags)
            .args(["--owner-pid", &pid])
            .output()
            .expect("cannot run scripts/etcd-cluster.sh");
        assert!(
            output.status.success(),
            "could not start an etcd cluster ({flags:?}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("env")).expect("cluster env file");
        let env = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Cluster { dir, env }
    }

    /// A variable of the cluster's `env` file.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the cluster's env"))
    }

    /// A file named by a variable of the cluster's `env` file.
    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.var(name))
    }

    /// The endpoints, `host:port,host:port,host:port`.
    pub fn endpoints(&self) -> &str {
        self.var("ETCD_ENDPOINTS")
    }

    /// `etcd://<endpoints><prefix>`.
    pub fn location(&self, prefix: &str) -> Location {
        Location::parse(format!("etcd://{}{prefix}", self.endpoints())).expect("etcd location")
    }

    /// Options with `timeout` and, for a cluster started with them, its TLS
    /// files and credentials.
    pub fn options(&self, timeout: Duration) -> OpenOptions {
        let mut options = OpenOptions::new().timeout(timeout);
        if self.env.contains_key("ETCD_CA_FILE") {
            options = options.tls(
                Some(self.path("ETCD_CA_FILE")),
                Some(self.path("ETCD_CERT_FILE")),
                Some(self.path("ETCD_KEY_FILE")),
            );
        }
        if self.env.contains_key("ETCD_USER") {
            options = options.auth(self.var("ETCD_USER"), self.path("ETCD_PASSWORD_FILE"));
        }
        options
    }

    /// A key manager on `prefix` with the cluster's options and `timeout`.
    pub fn open(&self, prefix: &str, timeout: Duration) -> KeyManager {
        KeyManager::open_with(&self.location(prefix), &self.options(timeout))
            .expect("open the etcd source")
    }

    /// A raw client (plain clusters only), for looking at what is stored.
    pub fn client(&self) -> Client {
        let endpoints = self.endpoints().split(',').map(String::from).collect();
        Client::connect(EtcdConfig::new(endpoints)).expect("connect")
    }

    /// Every value stored under `prefix`, with its etcd key.
    pub fn raw_entries(&self, prefix: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let range = self
            .client()
            .range_with(&RangeRequest::prefix(prefix.as_bytes()))
            .expect("range read");
        range
            .kvs
            .into_iter()
            .map(|kv| (kv.key, kv.value.as_bytes().to_vec()))
            .collect()
    }

    /// Runs `kill-member` or `restart-member` on member 1, 2 or 3.
    pub fn member(&self, action: &str, member: usize) {
        let output = script()
            .args([
                action,
                &self.dir.path().to_string_lossy(),
                &member.to_string(),
            ])
            .output()
            .expect("cannot run scripts/etcd-cluster.sh");
        assert!(
            output.status.success(),
            "{action} {member}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = script().arg("stop").arg(self.dir.path()).output();
    }
}

/// `bash scripts/etcd-cluster.sh`, to be given its arguments.
fn script() -> Command {
    let mut command = Command::new("bash");
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/etcd-cluster.sh"));
    command
}

/// One plain cluster shared by the tests that do not stop members; it
/// stops when the last test using it at the time is done.
pub fn shared_cluster() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(cluster) = slot.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(Cluster::start(&[]));
    *slot = Arc::downgrade(&cluster);
    cluster
}

/// A key-set prefix of this test's own: `/test/<name>/<pid>`.
pub fn prefix(name: &str) -> String {
    format!("/test/{name}/{}", std::process::id())
}

/// Runs `call` in a thread and fails the test if it has not returned after
/// `limit`: a hung call must not hang the test run.
pub fn bounded<T: Send + 'static>(limit: Duration, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(call()));
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("a call hung for more than {limit:?}"))
}
