//! `import`: a key read from a file or standard input (raw, hex, base64).

use super::{KEY_ID_HELP, key_id};
use crate::failure::{Answer, Failure, Outcome};
use crate::input::{KeyFormat, read_key};
use crate::source::SourceArgs;
use clap::{Args, ValueEnum};
use codomyrmex_keys::ErrorKind;
use std::ffi::OsString;
use std::path::PathBuf;

/// How the input of `import` is written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// The key's bytes themselves
    Raw,
    /// The key in hexadecimal, either letter case
    Hex,
    /// The key in base64, standard or URL-safe alphabet, padding optional
    Base64,
}

/// Options of `import`.
#[derive(Args)]
pub struct ImportArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// File holding the key; standard input if absent or '-'
    file: Option<PathBuf>,
    /// How the input is written
    #[arg(long, value_enum, default_value_t = ImportFormat::Raw)]
    format: ImportFormat,
    /// If the id exists: store the key as a new version instead of failing
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
