//! The etcd client against real 3-member clusters started with
//! `scripts/etcd-cluster.sh` (which installs etcd when it is missing).
//! Clusters belong to this process: stopped by the tests when done, and by
//! the script's watchdog if this process dies first. A cluster that cannot
//! be started fails the test that needed it.

use codomyrmex_keys::ErrorKind;
use codomyrmex_keys::etcd_client_for_tests::{
    AuthConfig, Client, Compare, CompareOp, EtcdConfig, Op, OpResponse, RangeRequest, TlsFiles,
    WATCH_THREAD_NAME, Watcher,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A running cluster; stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

/// Cluster starts are serialized: the first may install packages.
static STARTING: Mutex<()> = Mutex::new(());

/// Tests that start watchers take turns, so they can count watch threads.
static WATCHING: Mutex<()> = Mutex::new(());

impl Cluster {
    /// Starts a cluster with the script's `flags` (`--tls`, `--auth`).
    fn start(flags: &[&str]) -> Cluster {
        Cluster::start_with_env(flags, &[])
    }

    /// Starts a cluster with `env` added to the script's environment.
    fn start_with_env(flags: &[&str], env: &[(&str, &str)]) -> Cluster {
        let _turn = STARTING.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("codomyrmex-etcd-")
            .tempdir()
            .expect("temporary directory");
        let pid = std::process::id().to_string();
        let output = script()
            .arg("start")
            .arg(dir.path())
            .args(flags)
            .args(["--owner-pid", &pid])
            .envs(env.iter().copied())
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
    fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in env"))
    }

    /// A file named by a variable of the cluster's `env` file.
    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.var(name))
    }

    /// A client configuration for the cluster's endpoints.
    fn config(&self, timeout: Duration) -> EtcdConfig {
        let endpoints = self.var("ETCD_ENDPOINTS").split(',').map(String::from);
        let mut config = EtcdConfig::new(endpoints.collect());
        config.timeout = timeout;
        config
    }

    /// A client with the default 5 s timeout.
    fn client(&self) -> Client {
        Client::connect(self.config(Duration::from_secs(5))).expect("connect")
    }

    /// Runs `kill-member` or `restart-member` on member 1, 2 or 3.
    fn member(&self, action: &str, member: usize) {
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
fn shared_cluster() -> Arc<Cluster> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(cluster) = slot.upgrade() {
        return cluster;
    }
    let cluster = Arc::new(Cluster::start(&[]));
    *slot = Arc::downgrade(&cluster);
    cluster
}

/// A key prefix of this test's own.
fn prefix(test: &str) -> Vec<u8> {
    format!("/test/{test}/{}/", std::process::id()).into_bytes()
}

/// `prefix` followed by `name`.
fn key(prefix: &[u8], name: &str) -> Vec<u8> {
    [prefix, name.as_bytes()].concat()
}

/// Runs `call` in a thread and fails the test if it has not returned after
/// `limit`: a hung call must not hang the test run.
fn bounded<T: Send + 'static>(limit: Duration, call: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(call()));
    receiver
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("a call hung for more than {limit:?}"))
}

/// Waits until `condition` holds; returns how long it took.
fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

/// How many watcher threads this process has.
fn watch_threads() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == WATCH_THREAD_NAME)
        .count()
}

/// Puts, reads of one key and of a prefix at an older revision and the
/// latest, keys-only reads, a future revision refused, prefix deletes.
#[test]
fn put_range_and_prefix_at_a_revision() {
    let cluster = shared_cluster();
    let client = cluster.client();
    let p = prefix("range");
    let (a, b) = (key(&p, "a"), key(&p, "b"));
    let first = client.put(&a, b"one").unwrap();
    let second = client.put(&b, b"two").unwrap();
    let third = client.put(&a, b"three").unwrap();
    assert!(first < second && second < third);

    let now = client.range(&a).unwrap();
    assert_eq!(now.kvs.len(), 1);
    let kv = &now.kvs[0];
    assert_eq!(kv.value.as_bytes(), b"three");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (first, third, 2)
    );
    assert!(now.revision >= third);

    let then = client.range_prefix(&p, Some(second)).unwrap();
    let values: Vec<&[u8]> = then.kvs.iter().map(|kv| kv.value.as_bytes()).collect();
    assert_eq!(values, [&b"one"[..], b"two"]);
    assert_eq!(then.kvs[0].key, a);
    let latest = client.range_prefix(&p, None).unwrap();
    assert_eq!(latest.kvs[0].value.as_bytes(), b"three");

    let keys = client
        .range_with(&RangeRequest::prefix(&p).keys_only())
        .unwrap();
    assert_eq!(keys.count, 2);
    assert!(keys.kvs.iter().all(|kv| kv.value.is_empty()));

    assert!(client.range(&key(&p, "none")).unwrap().kvs.is_empty());
    let err = client.range_prefix(&p, Some(i64::MAX / 2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(client.delete_prefix(&p).unwrap().deleted, 2);
    let refused = client.delete_prefix(b"").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument);
}

/// Two writers read the same revision; the compare lets the first write
/// and makes the second fail with what the first wrote (no lost update).
#[test]
fn a_compare_on_mod_revision_lets_one_of_two_writers_win() {
    let cluster = shared_cluster();
    let (first, second) = (cluster.client(), cluster.client());
    let k = key(&prefix("lost-update"), "k");
    first.put(&k, b"original").unwrap();
    let read_by_first = first.range(&k).unwrap().kvs[0].mod_revision;
    let read_by_second = second.range(&k).unwrap().kvs[0].mod_revision;
    assert_eq!(read_by_first, read_by_second);

    let guard = |revision| [Compare::mod_revision(&k, CompareOp::Equal, revision)];
    let winner = first
        .txn(
            &guard(read_by_first),
            &[Op::Put {
                key: &k,
                value: b"first",
            }],
            &[],
        )
        .unwrap();
    assert!(winner.succeeded);
    let read_back = [Op::Range(RangeRequest::key(&k))];
    let loser = second
        .txn(
            &guard(read_by_second),
            &[Op::Put {
                key: &k,
                value: b"second",
            }],
            &read_back,
        )
        .unwrap();
    assert!(!loser.succeeded, "the second writer overwrote the first");
    assert!(loser.revision >= winner.revision);
    let OpResponse::Range(seen) = &loser.responses[0] else {
        panic!("expected the failure branch's range");
    };
    assert_eq!(seen.kvs[0].value.as_bytes(), b"first");
    assert_eq!(seen.kvs[0].mod_revision, winner.revision);

    let by_value = [Compare::value(&k, CompareOp::Equal, b"first")];
    let delete = [Op::Delete { key: &k }];
    assert!(first.txn(&by_value, &delete, &[]).unwrap().succeeded);
    assert!(first.range(&k).unwrap().kvs.is_empty());
}

/// Eight threads increment one counter with compare-and-swap retries: the
/// final count is exact.
#[test]
fn eight_threads_count_exactly_with_compare_and_swap() {
    const THREADS: usize = 8;
    const INCREMENTS: usize = 25;
    let cluster = shared_cluster();
    let client = Arc::new(cluster.client());
    let counter = key(&prefix("counter"), "n");
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (client, counter) = (Arc::clone(&client), counter.clone());
            std::thread::spawn(move || {
                let mut attempts = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        attempts += 1;
                        let read = client.range(&counter).unwrap();
                        let (value, revision) = match read.kvs.first() {
                            Some(kv) => (parse_count(kv.value.as_bytes()), kv.mod_revision),
                            None => (0, 0),
                        };
                        let next = (value + 1).to_string();
                        let compare = [Compare::mod_revision(&counter, CompareOp::Equal, revision)];
                        let put = [Op::Put {
                            key: &counter,
                            value: next.as_bytes(),
                        }];
                        let result = client.txn(&compare, &put, &[]).unwrap();
                        assert!(!result.retried_after_unknown_outcome);
                        if result.succeeded {
                            break;
                        }
                    }
                }
                attempts
            })
        })
        .collect();
    let attempts: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let final_value = parse_count(client.range(&counter).unwrap().kvs[0].value.as_bytes());
    assert_eq!(final_value, THREADS * INCREMENTS);
    println!(
        "compare-and-swap: {} increments by {THREADS} threads in {:?}, {attempts} transactions",
        THREADS * INCREMENTS,
        started.elapsed()
    );
}

/// The counter's decimal value.
fn parse_count(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes).unwrap().parse().unwrap()
}

/// A watcher sees puts under its prefix from another client within a
/// bound (latency printed), and not a put elsewhere.
#[test]
fn a_watcher_sees_a_put_from_another_client() {
    let _turn = WATCHING.lock().unwrap_or_else(|p| p.into_inner());
    let cluster = shared_cluster();
    let (watching, writing) = (cluster.client(), cluster.client());
    let p = prefix("watch");
    let start = writing.put(&key(&p, "before"), b"x").unwrap();
    let watcher = watching.watch_prefix(&p, start + 1).unwrap();
    wait_for(Duration::from_secs(5), "watch established", || {
        watcher.is_healthy()
    });
    assert!(!watcher.changed_since(start));
    writing.put(&key(&prefix("elsewhere"), "k"), b"x").unwrap();

    let mut latencies = Vec::new();
    for round in 0..5 {
        let generation = watcher.generation();
        let put_at = Instant::now();
        let revision = writing
            .put(&key(&p, "k"), format!("{round}").as_bytes())
            .unwrap();
        let put_took = put_at.elapsed();
        let seen = wait_for(Duration::from_secs(3), "watcher sees the put", || {
            watcher.changed_since(revision - 1)
        });
        assert_eq!(watcher.latest_revision(), revision);
        assert_eq!(watcher.generation(), generation + 1);
        latencies.push((put_took, put_took + seen));
    }
    println!("watch: (put round trip, put start to watcher seeing it): {latencies:?}");
    assert!(
        watcher.status().last_error.is_none(),
        "{:?}",
        watcher.status()
    );
}

/// Dropping watchers, connected or failing, ends their threads promptly.
#[test]
fn dropping_a_watcher_stops_its_thread() {
    let _turn = WATCHING.lock().unwrap_or_else(|p| p.into_inner());
    let cluster = shared_cluster();
    let client = cluster.client();
    let before = watch_threads();
    let watchers: Vec<Watcher> = (0..3)
        .map(|_| client.watch_prefix(&prefix("drop"), 0).unwrap())
        .collect();
    // A thread names itself once it runs.
    wait_for(Duration::from_secs(5), "3 named watch threads", || {
        watch_threads() == before + 3
    });
    for watcher in &watchers {
        wait_for(Duration::from_secs(5), "watch established", || {
            watcher.is_healthy()
        });
    }
    let started = Instant::now();
    drop(watchers);
    let took = started.elapsed();
    println!("dropping 3 connected watchers took {took:?}");
    assert!(took < Duration::from_secs(1), "drop took {took:?}");
    assert_eq!(watch_threads(), before);

    // A watcher that never connects (nothing listens there) stops as well.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap().to_string();
    drop(listener);
    let lonely = Client::connect(EtcdConfig::new(vec![closed])).unwrap();
    let watcher = lonely.watch_prefix(b"/x/", 0).unwrap();
    wait_for(Duration::from_secs(5), "failure reported", || {
        watcher.status().last_error.is_some()
    });
    assert!(!watcher.is_healthy());
    let started = Instant::now();
    drop(watcher);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(watch_threads(), before);
}

/// Status and member list agree on three healthy members and one leader.
#[test]
fn status_and_members_name_every_member() {
    let cluster = shared_cluster();
    let client = cluster.client();
    let statuses = client.status();
    assert_eq!(statuses.len(), 3);
    assert!(statuses.iter().all(|s| s.is_healthy()), "{statuses:?}");
    assert!(statuses.iter().all(|s| s.leader == statuses[0].leader));
    assert!(statuses.iter().all(|s| s.version.starts_with("3.")));
    let members = client.member_list().unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["m1", "m2", "m3"]);
    for status in &statuses {
        assert!(members.iter().any(|m| m.id == status.member_id));
    }
}

/// Killing the leader leaves calls and the watcher working; killing a
/// second member makes every call fail with `Io` within its timeout;
/// restarting both brings the same client and watcher back.
#[test]
fn failover_one_member_down_two_down_then_back() {
    let _turn = WATCHING.lock().unwrap_or_else(|p| p.into_inner());
    let cluster = Cluster::start(&[]);
    // A new leader can take two election timeouts (2 s) to appear; the
    // default 5 s bound covers that. Calls without quorum use 2 s.
    let client = cluster.client();
    let writer = cluster.client();
    let timeout = Duration::from_secs(2);
    let strict = Arc::new(Client::connect(cluster.config(timeout)).unwrap());
    let p = prefix("failover");
    let start = client.put(&key(&p, "k"), b"0").unwrap();
    let watcher = client.watch_prefix(&p, start + 1).unwrap();
    wait_for(Duration::from_secs(5), "watch established", || {
        watcher.is_healthy()
    });

    // Kill the leader: the worst member to lose.
    let statuses = client.status();
    let leader = statuses
        .iter()
        .position(|s| s.member_id == s.leader)
        .unwrap();
    cluster.member("kill-member", leader + 1);
    let killed_at = Instant::now();
    let first = client.put(&key(&p, "k"), b"first").unwrap();
    let first_took = killed_at.elapsed();
    assert!(client.range(&key(&p, "k")).unwrap().revision >= first);
    let mut slowest = Duration::ZERO;
    for round in 0..20 {
        let began = Instant::now();
        let revision = client
            .put(&key(&p, "k"), round.to_string().as_bytes())
            .unwrap();
        assert!(client.range(&key(&p, "k")).unwrap().revision >= revision);
        slowest = slowest.max(began.elapsed());
    }
    let put_at = Instant::now();
    let revision = writer.put(&key(&p, "after-kill"), b"x").unwrap();
    let seen = wait_for(Duration::from_secs(10), "watcher after a kill", || {
        watcher.changed_since(revision - 1)
    });
    println!(
        "leader (member {}) killed: first put {first_took:?} after the kill, then slowest put+range {slowest:?}; watcher saw a put {:?} after it started",
        leader + 1,
        put_at.elapsed().max(seen)
    );
    let statuses = client.status();
    let down = &statuses[leader];
    assert!(!down.reachable && down.error.is_some(), "{down:?}");
    let up: Vec<_> = statuses.iter().filter(|s| s.is_healthy()).collect();
    assert_eq!(up.len(), 2, "{statuses:?}");
    assert_ne!(up[0].leader, statuses[leader].member_id);

    // Kill a second member: no quorum, every call fails in time.
    wait_for(Duration::from_secs(10), "watcher healthy again", || {
        watcher.is_healthy()
    });
    let second = (leader + 1) % 3;
    cluster.member("kill-member", second + 1);
    let unhealthy = wait_for(
        Duration::from_secs(15),
        "watcher reports the outage",
        || !watcher.is_healthy(),
    );
    let mut times = Vec::new();
    for call in 0..3 {
        let client = Arc::clone(&strict);
        let k = key(&p, "k");
        let began = Instant::now();
        let err = bounded(timeout + Duration::from_secs(10), move || match call {
            0 => client.range(&k).map(|_| ()),
            1 => client.put(&k, b"lost").map(|_| ()),
            _ => client
                .txn(
                    &[],
                    &[Op::Put {
                        key: &k,
                        value: b"lost",
                    }],
                    &[],
                )
                .map(|_| ()),
        })
        .unwrap_err();
        let took = began.elapsed();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        for endpoint in cluster.var("ETCD_ENDPOINTS").split(',') {
            assert!(err.message().contains(endpoint), "{err}");
        }
        assert!(took <= timeout + Duration::from_secs(1), "{took:?}: {err}");
        times.push(took);
    }
    println!(
        "two members down, timeout {timeout:?}: calls failed after {times:?}; watcher unhealthy {unhealthy:?} after the kill; last error: {:?}",
        watcher.status().last_error
    );

    // Bring both back: the same client and watcher work again.
    cluster.member("restart-member", leader + 1);
    cluster.member("restart-member", second + 1);
    let revision = client.put(&key(&p, "k"), b"back").unwrap();
    assert_eq!(
        client.range(&key(&p, "k")).unwrap().kvs[0].value.as_bytes(),
        b"back"
    );
    let back = wait_for(Duration::from_secs(15), "watcher recovers", || {
        watcher.changed_since(revision - 1) && watcher.is_healthy()
    });
    println!("after restart: watcher caught up {back:?} after the first put");
}

/// TLS with a CA and a client certificate works, watches included; a
/// wrong CA, or no client certificate, fails with `Io`.
#[test]
fn tls_with_a_client_certificate_and_a_wrong_ca() {
    let cluster = Cluster::start(&["--tls"]);
    let tls = |ca: &str, with_client_cert: bool| TlsFiles {
        ca_file: Some(cluster.path(ca)),
        cert_file: with_client_cert.then(|| cluster.path("ETCD_CERT_FILE")),
        key_file: with_client_cert.then(|| cluster.path("ETCD_KEY_FILE")),
    };
    let mut config = cluster.config(Duration::from_secs(2));
    config.tls = Some(tls("ETCD_CA_FILE", true));
    let client = Client::connect(config.clone()).unwrap();
    let k = key(&prefix("tls"), "k");
    let revision = client.put(&k, b"over TLS").unwrap();
    assert_eq!(client.range(&k).unwrap().kvs[0].mod_revision, revision);
    let watcher = client.watch_prefix(&prefix("tls"), revision).unwrap();
    wait_for(Duration::from_secs(5), "watch over TLS", || {
        watcher.changed_since(revision - 1)
    });
    // Quiet for several read timeouts of the stream, which must survive them.
    std::thread::sleep(Duration::from_millis(700));
    let later = client.put(&k, b"later").unwrap();
    wait_for(
        Duration::from_secs(2),
        "watch over TLS after a quiet time",
        || watcher.changed_since(later - 1),
    );
    assert!(watcher.is_healthy(), "{:?}", watcher.status());

    for (ca, client_cert, expect) in [
        ("ETCD_OTHER_CA_FILE", true, "UnknownIssuer"),
        ("ETCD_CA_FILE", false, "connection closed"),
    ] {
        config.tls = Some(tls(ca, client_cert));
        let client = Client::connect(config.clone()).unwrap();
        let began = Instant::now();
        let err = client.range(&k).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(err.message().contains(expect), "{err}");
        let took = began.elapsed();
        assert!(took <= config.timeout + Duration::from_secs(1), "{took:?}");
        println!("{ca}, client certificate {client_cert}: failed after {took:?}: {err}");
    }
}

/// The right password works and an expired token is replaced; no user or
/// a wrong password fails without the password in the message; a
/// password file readable by others is refused.
#[test]
fn auth_takes_a_private_password_file() {
    // Tokens idle for 2 s expire, so the client must get a new one.
    let cluster = Cluster::start_with_env(&["--auth"], &[("ETCD_CLUSTER_AUTH_TOKEN_TTL", "2")]);
    let user = cluster.var("ETCD_USER").to_owned();
    let mut config = cluster.config(Duration::from_secs(3));
    config.auth = Some(AuthConfig {
        user: user.clone(),
        password_file: cluster.path("ETCD_PASSWORD_FILE"),
    });
    let client = Client::connect(config.clone()).unwrap();
    let k = key(&prefix("auth"), "k");
    let revision = client.put(&k, b"with a token").unwrap();
    assert_eq!(client.range(&k).unwrap().kvs[0].mod_revision, revision);
    let watcher = client.watch_prefix(&prefix("auth"), revision).unwrap();
    wait_for(Duration::from_secs(5), "watch with a token", || {
        watcher.changed_since(revision - 1)
    });
    std::thread::sleep(Duration::from_millis(3500));
    let refreshed = client.put(&k, b"with a new token").unwrap();
    assert!(refreshed > revision);

    let anonymous = Client::connect(cluster.config(Duration::from_secs(3))).unwrap();
    let err = anonymous.range(&k).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");

    let real_password = std::fs::read_to_string(cluster.path("ETCD_PASSWORD_FILE")).unwrap();
    let wrong = cluster.dir.path().join("wrong.password");
    write_with_mode(&wrong, "not-the-password-8d1f\n", 0o600);
    config.auth = Some(AuthConfig {
        user,
        password_file: wrong.clone(),
    });
    let err = Client::connect(config.clone())
        .unwrap()
        .range(&k)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.message().contains("authentication"), "{err}");
    assert!(!err.message().contains("not-the-password"), "{err}");
    assert!(!err.message().contains(real_password.trim()), "{err}");

    write_with_mode(&wrong, &real_password, 0o644);
    let err = Client::connect(config)
        .err()
        .expect("a 0644 password file is refused");
    assert_eq!(err.kind(), ErrorKind::InsecurePermissions, "{err}");
    assert!(!err.message().contains(real_password.trim()), "{err}");
    println!("password file readable by others: {err}");
}

/// Writes `text` to `path` with permissions `mode`.
fn write_with_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
