//! `export`: the current and retained versions of chosen keys, as a
//! Kubernetes Secret manifest or a Docker secrets directory (the file names
//! a mounted source reads: `<id>.key`, `<id>.key.v<N>`), or as a Tink
//! keyset. Key bytes go only into that output, never to a terminal.

use super::{alg_named, key_id, version_list};
use crate::buffer::SecretBuffer;
use crate::failure::{Answer, Failure, Outcome};
use crate::output::{Destination, note, write_new_dir, write_new_file, write_stdout_secret};
use crate::source::SourceArgs;
use crate::tink::{self, KeysetEntry, TINK_MIN_KEY_LEN};
use clap::{Args, ValueEnum};
use codomyrmex_keys::{HashAlg, KeyManager, SecretBytes, Version, Versions};
use std::ffi::OsString;
use std::num::NonZeroU32;
use std::path::PathBuf;

/// The Secret's name when `--name` is absent.
const DEFAULT_SECRET_NAME: &str = "codomyrmex-keys";
/// Mode of an exported file.
const FILE_MODE: u32 = 0o600;
/// Mode of a file in an exported Docker secrets directory.
const DOCKER_FILE_MODE: u32 = 0o400;

/// What `export` writes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A Kubernetes Secret manifest (YAML)
    K8sSecret,
    /// A new directory of key files for Docker or Compose secrets
    DockerDir,
    /// A cleartext Tink JSON keyset of HMAC keys (one key id)
    TinkKeyset,
}

/// Options of `export`.
#[derive(Args)]
pub struct ExportArgs {
    /// What to write
    #[arg(long, value_enum, default_value_t = ExportFormat::K8sSecret)]
    format: ExportFormat,
    /// The Secret's metadata.name (k8s-secret) [default: codomyrmex-keys]
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The Secret's metadata.namespace (k8s-secret) [default: none]
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Hash of the HMAC keys (tink-keyset): sha256, sha384 or sha512 [default: sha256]
    #[arg(long, value_name = "ALG")]
    alg: Option<String>,
    /// A new file, '-' for standard output when it is not a terminal, or
    /// (docker-dir) a new directory
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Keys to export (tink-keyset: exactly one)
    #[arg(required = true, value_name = "KEY_ID")]
    key_ids: Vec<OsString>,
}

/// One key's versions, read once.
struct Exported {
    id: String,
    versions: Versions,
    /// Every version's bytes, by ascending number.
    bytes: Vec<(NonZeroU32, SecretBytes)>,
}

impl Exported {
    fn bytes_of(&self, version: NonZeroU32) -> &[u8] {
        self.bytes
            .iter()
            .find(|(v, _)| *v == version)
            .map_or(&[], |(_, bytes)| bytes.as_bytes())
    }
}

/// `export`.
pub fn export(source: &SourceArgs, args: &ExportArgs) -> Outcome {
    check_options(args)?;
    let ids: Vec<&str> = args
        .key_ids
        .iter()
        .map(|id| key_id(id))
        .collect::<Result<_, _>>()?;
    if let Some(twice) = ids
        .iter()
        .enumerate()
        .find(|(i, id)| ids[..*i].contains(id))
    {
        return Err(Failure::invalid(format!(
            "key '{}' is named twice",
            twice.1
        )));
    }
    let destination = Destination::new(&args.out)?;
    let km = source.open()?;
    let keys: Vec<Exported> = ids
        .iter()
        .map(|id| read_versions(&km, id, args.format))
        .collect::<Result<_, _>>()?;
    match args.format {
        ExportFormat::K8sSecret => write_secret_manifest(args, &keys, &destination)?,
        ExportFormat::DockerDir => write_docker_dir(&keys, &destination)?,
        ExportFormat::TinkKeyset => write_tink_keyset(args, &keys[0], &destination)?,
    }
    let place = match &destination {
        Destination::Stdout => "standard output".to_string(),
        Destination::Path(path) => format!("'{}'", path.display()),
    };
    for key in &keys {
        let staged = match args.format {
            ExportFormat::TinkKeyset => format!(" staged={}", version_list(&key.versions.staged)),
            _ => String::new(),
        };
        note(&format!(
            "exported {} current={} retained={}{staged} to {place}",
            key.id,
            key.versions.current,
            version_list(&key.versions.retained)
        ));
    }
    Ok(Answer::Yes)
}

/// Refuses options that do not fit the format, before anything is read.
fn check_options(args: &ExportArgs) -> Result<(), Failure> {
    let format = args.format;
    if format != ExportFormat::K8sSecret && (args.name.is_some() || args.namespace.is_some()) {
        return Err(Failure::usage(
            "--name and --namespace are for --format k8s-secret",
        ));
    }
    if format != ExportFormat::TinkKeyset && args.alg.is_some() {
        return Err(Failure::usage("--alg is for --format tink-keyset"));
    }
    if format == ExportFormat::TinkKeyset && args.key_ids.len() != 1 {
        return Err(Failure::usage(
            "a Tink keyset holds the versions of exactly one key id",
        ));
    }
    if format == ExportFormat::DockerDir && args.out.as_os_str() == "-" {
        return Err(Failure::usage(
            "--format docker-dir writes a directory: --out DIR, not '-'",
        ));
    }
    if let Some(name) = &args.name {
        check_dns_name(name, "--name", 253, true)?;
    }
    if let Some(namespace) = &args.namespace {
        check_dns_name(namespace, "--namespace", 63, false)?;
    }
    Ok(())
}

/// Checks a Kubernetes object name: lowercase letters, digits and '-' (and
/// '.' where `dots`), starting and ending with a letter or digit.
fn check_dns_name(name: &str, option: &str, max: usize, dots: bool) -> Result<(), Failure> {
    let allowed =
        |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (dots && c == b'.');
    let edge = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let bytes = name.as_bytes();
    if bytes.len() <= max
        && bytes.iter().all(|&c| allowed(c))
        && edge(bytes.first())
        && edge(bytes.last())
    {
        return Ok(());
    }
    let charset = if dots {
        "a-z, 0-9, '-' and '.'"
    } else {
        "a-z, 0-9 and '-'"
    };
    Err(Failure::invalid(format!(
        "{option} \"{}\" is not a Kubernetes name: 1 to {max} characters from {charset}, \
         starting and ending with a letter or digit",
        name.escape_debug()
    )))
}

/// Reads the versions of `id` that `format` exports: current and retained
/// (and staged, for a Tink keyset), checking that a mounted source would
/// number them as this store does.
fn read_versions(km: &KeyManager, id: &str, format: ExportFormat) -> Result<Exported, Failure> {
    let key = km.key(id)?;
    let versions = key.versions()?;
    let mut numbers = versions.retained.clone();
    numbers.push(versions.current);
    if format == ExportFormat::TinkKeyset {
        numbers.extend_from_slice(&versions.staged);
    } else {
        check_mounted_numbering(id, &versions)?;
    }
    let mut bytes = Vec::with_capacity(numbers.len());
    for number in numbers {
        let secret = key.at(Version::Number(number)).get()?;
        if format == ExportFormat::TinkKeyset && secret.len() < TINK_MIN_KEY_LEN {
            return Err(Failure::invalid(format!(
                "version {number} of key '{id}' has {} bytes; Tink refuses HMAC keys under \
                 {TINK_MIN_KEY_LEN} bytes",
                secret.len()
            )));
        }
        bytes.push((number, secret));
    }
    Ok(Exported {
        id: id.to_string(),
        versions,
        bytes,
    })
}

/// A mounted source numbers its current version one past the highest
/// `<id>.key.v<N>` (1 without any): refuses a key it would number
/// differently, since its tagged MACs would stop verifying; staged versions
/// have no place there and are left out with a note.
fn check_mounted_numbering(id: &str, versions: &Versions) -> Result<(), Failure> {
    let numbered_as = versions.retained.last().map_or(1, |v| v.get() + 1);
    if numbered_as != versions.current.get() {
        return Err(Failure::invalid(format!(
            "key '{id}' is at version {} but keeps {}: a mounted source numbers its current \
             version one past the highest retained one, so it would call it version \
             {numbered_as} and tagged MACs would stop verifying; export after the next rotation \
             (and prune with --keep 2 or more)",
            versions.current,
            match versions.retained.last() {
                Some(v) => format!(
                    "no version {} (highest retained: {v})",
                    versions.current.get() - 1
                ),
                None => "no older version".to_string(),
            }
        )));
    }
    if !versions.staged.is_empty() {
        note(&format!(
            "staged versions {} of key '{id}' are not exported: a mounted source has none",
            version_list(&versions.staged)
        ));
    }
    Ok(())
}

/// The files of a mounted source: `<id>.key` for the current version and
/// `<id>.key.v<N>` for each retained one.
fn mounted_files(keys: &[Exported]) -> Vec<(String, &[u8])> {
    let mut files = Vec::new();
    for key in keys {
        files.push((
            format!("{}.key", key.id),
            key.bytes_of(key.versions.current),
        ));
        for &version in &key.versions.retained {
            files.push((format!("{}.key.v{version}", key.id), key.bytes_of(version)));
        }
    }
    files
}

/// Writes the Secret manifest.
fn write_secret_manifest(
    args: &ExportArgs,
    keys: &[Exported],
    destination: &Destination,
) -> Result<(), Failure> {
    let name = args.name.as_deref().unwrap_or(DEFAULT_SECRET_NAME);
    let files = mounted_files(keys);
    let manifest = SecretBuffer::build(|out| {
        out.push("apiVersion: v1\nkind: Secret\nmetadata:\n")?;
        out.push(&format!("  name: \"{name}\"\n"))?;
        if let Some(namespace) = &args.namespace {
            out.push(&format!("  namespace: \"{namespace}\"\n"))?;
        }
        out.push("type: Opaque\ndata:\n")?;
        for (file, bytes) in &files {
            // Key ids are [A-Za-z0-9._-]: nothing to escape.
            out.push(&format!("  \"{file}\": "))?;
            out.push_base64(bytes)?;
            out.push("\n")?;
        }
        Ok(())
    })?;
    write_to(destination, manifest.as_bytes())
}

/// Writes the Docker secrets directory.
fn write_docker_dir(keys: &[Exported], destination: &Destination) -> Result<(), Failure> {
    let Destination::Path(path) = destination else {
        return Err(Failure::usage("--format docker-dir writes a directory"));
    };
    write_new_dir(path, &mounted_files(keys), DOCKER_FILE_MODE)
}

/// Writes one key's versions as a Tink keyset.
fn write_tink_keyset(
    args: &ExportArgs,
    key: &Exported,
    destination: &Destination,
) -> Result<(), Failure> {
    let alg = match &args.alg {
        Some(name) => alg_named(name)?,
        None => HashAlg::Sha256,
    };
    let entries: Vec<KeysetEntry<'_>> = key
        .bytes
        .iter()
        .map(|(id, bytes)| KeysetEntry {
            id: *id,
            key: bytes.as_bytes(),
        })
        .collect();
    let mut sorted = entries;
    sorted.sort_by_key(|entry| entry.id);
    let keyset = tink::write_keyset(alg, key.versions.current, &sorted)?;
    write_to(destination, keyset.as_bytes())
}

fn write_to(destination: &Destination, bytes: &[u8]) -> Result<(), Failure> {
    match destination {
        Destination::Stdout => write_stdout_secret(bytes),
        Destination::Path(path) => write_new_file(path, bytes, FILE_MODE),
    }
}
