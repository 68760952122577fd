//! `import`: a key read from a file or standard input (raw, hex, base64),
//! or every usable key of a Tink keyset, whose key ids become versions.

use super::{KEY_ID_HELP, key_id};
use crate::failure::{Answer, Failure, Outcome};
use crate::input::{KeyFormat, read_key, read_secret};
use crate::output::{note, print_lines};
use crate::source::SourceArgs;
use crate::tink::{self, ImportedKeyset};
use clap::{Args, ValueEnum};
use codomyrmex_keys::{ErrorKind, KeyManager, Status};
use std::ffi::OsString;
use std::num::NonZeroU32;
use std::path::PathBuf;

/// Largest keyset accepted, in bytes.
const MAX_KEYSET_LEN: usize = 4 << 20;

/// How the input of `import` is written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// The key's bytes themselves
    Raw,
    /// The key in hexadecimal, either letter case
    Hex,
    /// The key in base64, standard or URL-safe alphabet, padding optional
    Base64,
    /// A cleartext Tink JSON keyset of HMAC keys with output prefix TINK
    TinkKeyset,
}

/// Options of `import`.
#[derive(Args)]
pub struct ImportArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// File holding the key or keyset; standard input if absent or '-'
    file: Option<PathBuf>,
    /// How the input is written
    #[arg(long, value_enum, default_value_t = ImportFormat::Raw)]
    format: ImportFormat,
    /// If the id exists: store the key as a new version (a keyset replaces the
    /// key and all its versions) instead of failing
    #[arg(long)]
    replace: bool,
}

/// `import`.
pub fn import(source: &SourceArgs, args: &ImportArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let km = source.open()?;
    let format = match args.format {
        ImportFormat::Raw => KeyFormat::Raw,
        ImportFormat::Hex => KeyFormat::Hex,
        ImportFormat::Base64 => KeyFormat::Base64,
        ImportFormat::TinkKeyset => return import_keyset(&km, id, args),
    };
    let key = read_key(args.file.as_deref(), format)?;
    if args.replace {
        km.store(id, &key)?;
    } else {
        km.create(id, &key).map_err(|err| {
            let already = err.kind() == ErrorKind::AlreadyExists;
            let mut failure = Failure::from(err);
            if already {
                failure
                    .message
                    .push_str(" (--replace stores a new version)");
            }
            failure
        })?;
    }
    Ok(Answer::Yes)
}

/// Imports a Tink keyset as the key `id`: every enabled key becomes the
/// version its key id names; the primary is current, lower ids are retained
/// and higher ones staged (Tink verifies with them but never makes MACs,
/// which is what staged means here). Prints the versions stored.
fn import_keyset(km: &KeyManager, id: &str, args: &ImportArgs) -> Outcome {
    let (text, label) = read_secret(args.file.as_deref(), MAX_KEYSET_LEN, "keyset")?;
    let keyset = tink::read_keyset(&text, &label)?;
    drop(text);
    if km.exists(id)? {
        if !args.replace {
            return Err(Failure::status(
                Status::AlreadyExists,
                format!(
                    "key '{id}' already exists in '{}' (--replace replaces it and all its \
                     versions with the keyset's)",
                    km.location()
                ),
            ));
        }
        km.delete(id)?;
    }
    store_numbered(km, id, &keyset)?;
    for (key_id, status) in &keyset.skipped {
        note(&format!(
            "key id {key_id} is {status} in the keyset; not imported"
        ));
    }
    let lines: Vec<String> = keyset
        .keys
        .iter()
        .map(|key| {
            let mark = match key.id.cmp(&keyset.primary) {
                std::cmp::Ordering::Equal => " (current)",
                std::cmp::Ordering::Greater => " (staged)",
                std::cmp::Ordering::Less => "",
            };
            format!("{} {}{mark}", key.id, key.alg.name())
        })
        .collect();
    print_lines(&lines)?;
    Ok(Answer::Yes)
}

/// Stores the keyset's keys as the new key `id`, each under the version its
/// key id names, in one call that writes all of them or none.
fn store_numbered(km: &KeyManager, id: &str, keyset: &ImportedKeyset) -> Result<(), Failure> {
    let versions: Vec<(NonZeroU32, &[u8])> = keyset
        .keys
        .iter()
        .map(|key| (key.id, &key.key[..]))
        .collect();
    Ok(km.create_with_versions(id, &versions, keyset.primary)?)
}
