//! The machinery of the table: a case (setup, operation, expectation and
//! extra checks), the operations, and running one case with every check.

use crate::common::fs::changed;
use crate::common::hostile::{Env, NEW, OUTSIDE, all_key_states, check_message};
use crate::common::snapshot;
use crate::common::store::{current_number, version_bytes, version_list};
use codomyrmex_keys::{ErrorKind, HashAlg, Result};
use std::num::NonZeroU32;
use std::path::{Component, Path};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// The first component of `path`, and whether the second starts with a dot.
pub(crate) fn top_and_dot(path: &Path) -> (String, bool) {
    let mut parts = path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
        _ => None,
    });
    let top = parts.next().unwrap_or_default();
    let dot = parts.next().is_some_and(|second| second.starts_with('.'));
    (top, dot)
}

pub(crate) type Setup = Arc<dyn Fn(&Env) + Send + Sync>;
pub(crate) type Op = Arc<dyn Fn(&Env) -> Result<()> + Send + Sync>;
pub(crate) type Check = Arc<dyn Fn(&Env) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    Ok,
    Err(ErrorKind),
}

pub(crate) struct Case {
    pub name: String,
    pub setup: Setup,
    pub op: Op,
    pub expect: Expect,
    /// Entries of the temporary root (by first path component) that the
    /// operation may change. Default: `keys` when it succeeds, nothing
    /// when it fails (but dot-entries of `keys`: the lock file, version
    /// records, temporary files).
    pub allowed: Option<Vec<&'static str>>,
    pub check: Option<Check>,
}

impl Case {
    pub(crate) fn allow(mut self, names: &[&'static str]) -> Case {
        self.allowed = Some(names.to_vec());
        self
    }

    pub(crate) fn then(mut self, check: impl Fn(&Env) + Send + Sync + 'static) -> Case {
        self.check = Some(Arc::new(check));
        self
    }
}

pub(crate) fn case(
    name: impl Into<String>,
    setup: &Setup,
    op: &(&'static str, Op),
    expect: Expect,
) -> Case {
    Case {
        name: format!("{}: {}", name.into(), op.0),
        setup: Arc::clone(setup),
        op: Arc::clone(&op.1),
        expect,
        allowed: None,
        check: None,
    }
}

pub(crate) fn setup(f: impl Fn(&Env) + Send + Sync + 'static) -> Setup {
    Arc::new(f)
}

pub(crate) fn op<T>(
    name: &'static str,
    f: impl Fn(&Env) -> Result<T> + Send + Sync + 'static,
) -> (&'static str, Op) {
    (name, Arc::new(move |env: &Env| f(env).map(drop)))
}

pub(crate) fn get(id: &'static str) -> (&'static str, Op) {
    op("get", move |e| e.km.get(id))
}
pub(crate) fn exists(id: &'static str) -> (&'static str, Op) {
    op("exists", move |e| e.km.exists(id))
}
pub(crate) fn store(id: &'static str) -> (&'static str, Op) {
    op("store", move |e| e.km.store(id, NEW))
}
pub(crate) fn rotate(id: &'static str) -> (&'static str, Op) {
    op("rotate", move |e| e.km.rotate(id, NEW))
}
pub(crate) fn create(id: &'static str) -> (&'static str, Op) {
    op("create", move |e| e.km.create(id, NEW))
}
pub(crate) fn delete(id: &'static str) -> (&'static str, Op) {
    op("delete", move |e| e.km.delete(id))
}
pub(crate) fn current_version(id: &'static str) -> (&'static str, Op) {
    op("current_version", move |e| current_number(&e.km, id))
}
pub(crate) fn get_version(id: &'static str, v: u32) -> (&'static str, Op) {
    let name: &'static str = match v {
        1 => "get_version 1",
        2 => "get_version 2",
        _ => "get_version",
    };
    op(name, move |e| version_bytes(&e.km, id, v))
}
pub(crate) fn list_versions(id: &'static str) -> (&'static str, Op) {
    op("list_versions", move |e| version_list(&e.km, id))
}
pub(crate) fn prune(id: &'static str) -> (&'static str, Op) {
    op("prune", move |e| e.km.prune(id, NonZeroU32::MIN))
}
pub(crate) fn hmac_op(id: &'static str) -> (&'static str, Op) {
    op("hmac", move |e| e.km.key(id)?.hmac(HashAlg::Sha256, b"m"))
}
pub(crate) fn hmac_tagged(id: &'static str) -> (&'static str, Op) {
    op("hmac_tagged", move |e| {
        e.km.key(id)?.hmac_tagged(HashAlg::Sha256, b"m")
    })
}
pub(crate) fn derive(id: &'static str) -> (&'static str, Op) {
    op("derive", move |e| {
        let mut okm = [0u8; 16];
        e.km.key(id)?.derive(HashAlg::Sha256, b"", b"", &mut okm)
    })
}
pub(crate) fn list() -> (&'static str, Op) {
    op("list", |e| e.km.list())
}

/// Runs `op` on its own thread and fails if it does not return within a
/// generous bound (a FIFO must never block a call).
pub(crate) fn guarded(env: &Arc<Env>, op: &Op, name: &str) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let (env, op) = (Arc::clone(env), Arc::clone(op));
    std::thread::spawn(move || {
        let _ = tx.send(op(&env));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{name}: the call blocked (or panicked)"))
}

pub(crate) fn run_case(case: &Case) {
    let env = Arc::new(Env::new());
    (case.setup)(&env);
    let ids = ["victim", "other", "fresh"];
    let before = snapshot(&env.root);
    let listed_before = env.km.list().map_err(|e| e.kind());
    let states_before = all_key_states(&env.km, &ids);

    let result = guarded(&env, &case.op, &case.name);
    let name = &case.name;
    match (&result, case.expect) {
        (Ok(()), Expect::Ok) => {}
        (Err(e), Expect::Err(kind)) => {
            assert_eq!(e.kind(), kind, "{name}: {}", e.message());
            check_message(e, name);
        }
        (Ok(()), Expect::Err(kind)) => panic!("{name}: succeeded, expected {kind:?}"),
        (Err(e), Expect::Ok) => panic!("{name}: failed: {e:?}"),
    }

    let after = snapshot(&env.root);
    let failed = result.is_err();
    let default_allowed: &[&str] = if failed { &[] } else { &["keys"] };
    let allowed = case.allowed.as_deref().unwrap_or(default_allowed);
    for path in changed(&before, &after) {
        let (top, dot) = top_and_dot(&path);
        let ok = allowed.contains(&top.as_str()) || (failed && top == "keys" && dot);
        assert!(
            ok,
            "{name}: changed {}: {:?} -> {:?}",
            path.display(),
            before.get(&path),
            after.get(&path)
        );
    }
    assert_eq!(
        std::fs::read(env.secret()).unwrap(),
        OUTSIDE,
        "{name}: the attacker's file"
    );
    if failed {
        assert_eq!(
            env.km.list().map_err(|e| e.kind()),
            listed_before,
            "{name}: list"
        );
        assert_eq!(
            all_key_states(&env.km, &ids),
            states_before,
            "{name}: keys after a failed call"
        );
    }
    if let Some(check) = &case.check {
        check(&env);
    }
}

/// Rows for one tampering: the same setup against several operations.
pub(crate) fn rows(
    tamper: &str,
    setup: &Setup,
    ops: Vec<((&'static str, Op), Expect)>,
) -> Vec<Case> {
    ops.iter()
        .map(|(op, expect)| case(tamper, setup, op, *expect))
        .collect()
}

pub(crate) use Expect::Err as E;
pub(crate) const OK: Expect = Expect::Ok;
pub(crate) const IP: ErrorKind = ErrorKind::InsecurePermissions;
pub(crate) const CORRUPT: ErrorKind = ErrorKind::Corrupt;
pub(crate) const IO: ErrorKind = ErrorKind::Io;
pub(crate) const EXISTS: ErrorKind = ErrorKind::AlreadyExists;
