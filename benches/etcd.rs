//! The key store on etcd against etcd's own round trip: `get` and `rotate`
//! through the key manager, beside one range and one put with the same
//! client (the wire floor) and `etcdctl get` / `etcdctl put` (etcd's own
//! tool, process start included, and without it); a keyring's load, how
//! soon it serves a rotation made through another key manager (pushed by
//! an etcd watch), and its HMAC, which never touches the network.
//!
//! `cargo bench --features etcd --bench etcd` starts a 3-member cluster on
//! loopback with `scripts/etcd-cluster.sh` (which installs etcd when
//! missing) and stops it at the end; `-- --samples N` sets the samples per
//! row (default 300). Reported: median and 90th percentile, in
//! milliseconds.

use codomyrmex_keys::etcd_client_for_tests::{Client, Compare, CompareOp, EtcdConfig, Op};
use codomyrmex_keys::{HashAlg, KeyManager, Location, OpenOptions};
use std::num::NonZeroU32;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A cluster started for the benchmark; stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    endpoints: String,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("codomyrmex-etcd-bench-")
            .tempdir()
            .expect("temporary directory");
        let output = script()
            .arg("start")
            .arg(dir.path())
            .args(["--owner-pid", &std::process::id().to_string()])
            .output()
            .expect("cannot run scripts/etcd-cluster.sh");
        if !output.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            std::process::exit(1);
        }
        let env = std::fs::read_to_string(dir.path().join("env")).expect("env file");
        let endpoints = env
            .lines()
            .find_map(|line| line.strip_prefix("ETCD_ENDPOINTS="))
            .expect("ETCD_ENDPOINTS")
            .to_owned();
        Cluster { dir, endpoints }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = script().arg("stop").arg(self.dir.path()).output();
    }
}

fn script() -> Command {
    let mut command = Command::new("bash");
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/etcd-cluster.sh"));
    command
}

/// Times `samples` runs of `run` (after a few unmeasured ones).
fn measure(samples: usize, mut run: impl FnMut(usize)) -> Vec<Duration> {
    for i in 0..5 {
        run(i);
    }
    (0..samples)
        .map(|i| {
            let started = Instant::now();
            run(i);
            started.elapsed()
        })
        .collect()
}

/// Median and 90th percentile, in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.9))
}

fn row(name: &str, times: Vec<Duration>) -> f64 {
    let (median, p90) = summary(times);
    println!("| {name:<50} | {median:>8.2} | {p90:>8.2} |");
    median
}

/// `etcdctl` with `args` against the cluster, once; fails loudly.
fn etcdctl(endpoints: &str, args: &[&str]) {
    let status = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("etcdctl runs");
    assert!(status.success(), "etcdctl {args:?} failed");
}

fn main() {
    let samples = std::env::args()
        .skip_while(|arg| arg != "--samples")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let cluster = Cluster::start();
    let endpoints = &cluster.endpoints;
    let location = Location::parse(format!("etcd://{endpoints}/bench")).unwrap();
    let km = KeyManager::open_with(&location, &OpenOptions::new()).unwrap();
    km.generate("api", 32).unwrap();
    let client = Client::connect(EtcdConfig::new(
        endpoints.split(',').map(String::from).collect(),
    ))
    .unwrap();
    client.put(b"/floor/k", &[7u8; 32]).unwrap();

    println!(
        "etcd 3-member cluster on loopback, {samples} samples per row (etcdctl: 1/5 of them)\n"
    );
    println!("| operation                                          | median ms |   p90 ms |");
    println!("|----------------------------------------------------|----------:|---------:|");
    row(
        "key manager get (one range read)",
        measure(samples, |_| {
            km.get("api").unwrap();
        }),
    );
    let keep = NonZeroU32::new(4).unwrap();
    row(
        "key manager rotate (read + guarded txn)",
        measure(samples, |i| {
            km.rotate("api", &[i as u8; 32]).unwrap();
            if i % 16 == 0 {
                km.prune("api", keep).unwrap();
            }
        }),
    );
    row(
        "keyring load (one range read, 4-5 versions)",
        measure(samples, |_| {
            km.load("api", HashAlg::Sha256, None).unwrap();
        }),
    );
    let ring = km
        .load("api", HashAlg::Sha256, Some(Duration::from_millis(100)))
        .unwrap();
    let other_host = KeyManager::open_with(&location, &OpenOptions::new()).unwrap();
    // From the moment another key manager's rotate returns until the
    // keyring serves the new version.
    let served_after = (0..(samples / 3).max(10))
        .map(|i| {
            let before = ring.current_version().unwrap();
            other_host.rotate("api", &[i as u8 ^ 0x55; 32]).unwrap();
            let rotated = Instant::now();
            while ring.current_version().unwrap() == before {
                assert!(rotated.elapsed() < Duration::from_secs(5), "never served");
                std::thread::yield_now();
            }
            rotated.elapsed()
        })
        .collect();
    row(
        "rotation elsewhere: returned -> served by keyring",
        served_after,
    );
    let message = [0x42u8; 32];
    let mut per_call = (0..21)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..50_000 {
                std::hint::black_box(ring.hmac(std::hint::black_box(&message)).unwrap());
            }
            started.elapsed().as_secs_f64() * 1e9 / 50_000.0
        })
        .collect::<Vec<_>>();
    per_call.sort_by(f64::total_cmp);
    println!(
        "| {:<50} | {:>8} | {:>8} |",
        format!("keyring HMAC-SHA256 32 B: {:.0} ns a call", per_call[10]),
        "-",
        "-"
    );
    row(
        "client range of one key (wire floor)",
        measure(samples, |_| {
            client.range(b"/floor/k").unwrap();
        }),
    );
    let guard = [Compare::mod_revision(b"/floor/", CompareOp::Less, i64::MAX).over_prefix()];
    row(
        "client txn: prefix compare + 2 puts (wire floor)",
        measure(samples, |i| {
            let value = [i as u8; 32];
            let ops = [
                Op::Put {
                    key: b"/floor/k",
                    value: &value,
                },
                Op::Put {
                    key: b"/floor/m",
                    value: b"{}",
                },
            ];
            assert!(client.txn(&guard, &ops, &[]).unwrap().succeeded);
        }),
    );
    row(
        "client put of one key (wire floor)",
        measure(samples, |i| {
            client.put(b"/floor/k", &[i as u8; 32]).unwrap();
        }),
    );
    // etcdctl runs interleaved (start, get, put, start, ...), so that the
    // paired differences cancel the process start however the load drifts.
    let few = (samples / 5).max(10);
    let (mut start, mut get, mut put) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..few {
        for (times, args) in [
            (&mut start, vec!["version".to_owned()]),
            (&mut get, vec!["get".to_owned(), "/floor/k".to_owned()]),
            (
                &mut put,
                vec!["put".to_owned(), "/floor/k".to_owned(), format!("v{i}")],
            ),
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let started = Instant::now();
            etcdctl(endpoints, &args);
            times.push(started.elapsed());
        }
    }
    let minus = |a: &[Duration], b: &[Duration]| -> Vec<Duration> {
        a.iter().zip(b).map(|(a, b)| a.saturating_sub(*b)).collect()
    };
    let (get_net, put_net) = (minus(&get, &start), minus(&put, &start));
    row("etcdctl version (process start, no request)", start);
    row("etcdctl get", get);
    row("etcdctl put", put);
    row("etcdctl get minus process start (paired)", get_net);
    row("etcdctl put minus process start (paired)", put_net);
}
