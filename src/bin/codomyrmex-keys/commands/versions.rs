//! A key's versions: rotation, staged rotation (stage, promote), listing,
//! status and pruning.

use super::{DEFAULT_KEY_LEN, KEY_ID_HELP, key_id, version_list};
use crate::commands::keys::KeyIdArg;
use crate::failure::{Answer, Failure, Outcome};
use crate::input::{KeyFormat, random_key, read_key};
use crate::output::print_lines;
use crate::source::SourceArgs;
use clap::Args;
use codomyrmex_keys::{KeyManager, SourceStatus, Status, Versions};
use std::ffi::OsString;
use std::num::NonZeroU32;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Options of `rotate` and `stage`: the key and where its new version comes
/// from.
#[derive(Args)]
pub struct NewVersionArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// Length of the new random key in bytes (1 to 65536) [default: 32]
    #[arg(long, value_name = "N", conflicts_with = "from")]
    bytes: Option<usize>,
    /// Read the new key from FILE ('-': standard input) instead
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// How the key is written in --from
    #[arg(long, value_enum, requires = "from")]
    format: Option<KeyFormat>,
}

impl NewVersionArgs {
    /// The new version's bytes: read from `--from`, else random.
    fn new_key(&self) -> Result<Zeroizing<Vec<u8>>, Failure> {
        match &self.from {
            Some(path) => read_key(Some(path), self.format.unwrap_or(KeyFormat::Raw)),
            None => random_key(self.bytes.unwrap_or(DEFAULT_KEY_LEN)),
        }
    }
}

/// Options of `promote`.
#[derive(Args)]
pub struct PromoteArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// The staged version to make current
    version: u32,
}

/// Options of `status`.
#[derive(Args)]
pub struct StatusArgs {
    /// Key ids to show [default: every key]
    key_ids: Vec<OsString>,
}

/// Options of `prune`.
#[derive(Args)]
pub struct PruneArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// Versions to keep, the current one included (at least 1)
    #[arg(long, value_name = "N")]
    keep: u32,
}

/// Fails with `NOT_FOUND` unless `id` exists: the library's `rotate` would
/// create a missing key, and an operator's typo should not.
fn require_existing(km: &KeyManager, id: &str) -> Result<(), Failure> {
    if km.exists(id)? {
        return Ok(());
    }
    Err(Failure::status(
        Status::NotFound,
        format!("key '{id}' does not exist (create it with generate or import)"),
    ))
}

/// `rotate`: a new current version; prints its number.
pub fn rotate(source: &SourceArgs, args: &NewVersionArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let km = source.open()?;
    require_existing(&km, id)?;
    let new_key = args.new_key()?;
    drop(km.rotate(id, &new_key)?);
    drop(new_key);
    print_lines(&[km.key(id)?.current_version()?.to_string()])?;
    Ok(Answer::Yes)
}

/// `stage`: a new staged version; prints its number.
pub fn stage(source: &SourceArgs, args: &NewVersionArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let km = source.open()?;
    require_existing(&km, id)?;
    let new_key = args.new_key()?;
    let version = km.stage(id, &new_key)?;
    drop(new_key);
    print_lines(&[version.to_string()])?;
    Ok(Answer::Yes)
}

/// `promote`: a staged version becomes current.
pub fn promote(source: &SourceArgs, args: &PromoteArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let Some(version) = NonZeroU32::new(args.version) else {
        return Err(Failure::invalid(
            "version 0 cannot be promoted: give the number `stage` printed",
        ));
    };
    source.open()?.promote(id, version)?;
    Ok(Answer::Yes)
}

/// `versions`: one version per line, ascending, the current one and the
/// staged ones marked.
pub fn versions(source: &SourceArgs, args: &KeyIdArg) -> Outcome {
    let id = key_id(&args.key_id)?;
    let versions = source.open()?.key(id)?.versions()?;
    let lines: Vec<String> = versions
        .all()
        .into_iter()
        .map(|version| match version {
            v if v == versions.current => format!("{v} (current)"),
            v if versions.staged.contains(&v) => format!("{v} (staged)"),
            v => v.to_string(),
        })
        .collect();
    print_lines(&lines)?;
    Ok(Answer::Yes)
}

/// The `status` line of one key; for a shared source (etcd), followed by
/// its revision and the members that answered.
pub fn status_line(id: &str, versions: &Versions, shared: Option<&SourceStatus>) -> String {
    let mut line = format!(
        "{id} current={} retained={} staged={}",
        versions.current,
        version_list(&versions.retained),
        version_list(&versions.staged)
    );
    if let Some(status) = shared {
        line.push_str(&format!(
            " revision={} members={}/{}",
            status.revision, status.members_reachable, status.members
        ));
    }
    line
}

/// `status`: one line per key (all keys, or those named), with the
/// source's revision and reachable members for etcd; nothing is printed
/// unless every key could be read.
pub fn status(source: &SourceArgs, args: &StatusArgs) -> Outcome {
    let km = source.open()?;
    let ids = if args.key_ids.is_empty() {
        km.list()?
    } else {
        let ids: Result<Vec<&str>, Failure> = args.key_ids.iter().map(|id| key_id(id)).collect();
        ids?.into_iter().map(str::to_string).collect()
    };
    let mut versions = Vec::with_capacity(ids.len());
    for id in &ids {
        versions.push(km.key(id)?.versions()?);
    }
    // Asked after the keys were read: every change they show is at most
    // this revision.
    let shared = km.source_status()?;
    let lines: Vec<String> = ids
        .iter()
        .zip(&versions)
        .map(|(id, versions)| status_line(id, versions, shared.as_ref()))
        .collect();
    print_lines(&lines)?;
    Ok(Answer::Yes)
}

/// `prune`: keeps the newest `--keep` versions up to the current one.
pub fn prune(source: &SourceArgs, args: &PruneArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let Some(keep) = NonZeroU32::new(args.keep) else {
        return Err(Failure::invalid(
            "--keep 0: the current version is always kept, so keep at least 1",
        ));
    };
    source.open()?.prune(id, keep)?;
    Ok(Answer::Yes)
}
