//! Whole keys: open the source, create, list, check, read and delete keys,
//! and the shell completions.

use super::{DEFAULT_KEY_LEN, KEY_ID_HELP, answer, key_id, version_of};
use crate::cli::Cli;
use crate::failure::{Answer, Outcome};
use crate::output::{emit_secret, note, path_bytes, print_bytes, print_lines};
use crate::source::SourceArgs;
use clap::{Args, CommandFactory};
use codomyrmex_keys::Location;
use std::ffi::OsString;
use std::path::PathBuf;

/// A subcommand's one argument: a key id.
#[derive(Args)]
pub struct KeyIdArg {
    #[arg(help = KEY_ID_HELP)]
    pub key_id: OsString,
}

/// Options of `generate`.
#[derive(Args)]
pub struct GenerateArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// Key length in bytes (1 to 65536)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KEY_LEN)]
    bytes: usize,
}

/// Options of `get`.
#[derive(Args)]
pub struct GetArgs {
    #[arg(help = KEY_ID_HELP)]
    key_id: OsString,
    /// Version to read; 0 is the current one [default: the current one]
    #[arg(long, value_name = "N")]
    version: Option<u32>,
    /// Print the key in hex on stdout
    #[arg(long, conflicts_with = "out")]
    reveal: bool,
    /// Write the raw key to FILE (created, mode 0600; must not exist)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `init`: opens the source and prints where it is (a directory's resolved
/// path, or the location of any other source).
pub fn init(source: &SourceArgs) -> Outcome {
    let km = source.open()?;
    let mut line = match km.location() {
        Location::Dir(path) => path_bytes(path).to_vec(),
        other => other.to_string().into_bytes(),
    };
    line.push(b'\n');
    print_bytes(&line)?;
    Ok(Answer::Yes)
}

/// `generate`: a new random key.
pub fn generate(source: &SourceArgs, args: &GenerateArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    source.open()?.generate(id, args.bytes)?;
    Ok(Answer::Yes)
}

/// `list`: every key id, one per line.
pub fn list(source: &SourceArgs) -> Outcome {
    print_lines(&source.open()?.list()?)?;
    Ok(Answer::Yes)
}

/// `exists`: the answer is the exit status.
pub fn exists(source: &SourceArgs, args: &KeyIdArg) -> Outcome {
    let id = key_id(&args.key_id)?;
    Ok(answer(source.open()?.exists(id)?))
}

/// `delete`: the key and all its versions.
pub fn delete(source: &SourceArgs, args: &KeyIdArg) -> Outcome {
    let id = key_id(&args.key_id)?;
    source.open()?.delete(id)?;
    Ok(Answer::Yes)
}

/// `get`: reads a version; its bytes go out only with `--reveal` or `--out`.
pub fn get(source: &SourceArgs, args: &GetArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let km = source.open()?;
    let key = km.key(id)?.at(version_of(args.version)).get()?;
    if args.reveal || args.out.is_some() {
        emit_secret(&key, args.out.as_deref())?;
    } else {
        note(&format!(
            "key '{id}' is readable; its bytes are printed only with --reveal (hex) or \
             written with --out FILE"
        ));
    }
    Ok(Answer::Yes)
}

/// `completions`: a completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "codomyrmex-keys", &mut script);
    print_bytes(&script)?;
    Ok(Answer::Yes)
}
