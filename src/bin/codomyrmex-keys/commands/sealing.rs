//! Keys sealed at rest: seal a store in place, move it to a new key-
//! encryption key (KEK), and make a new KEK.

use crate::failure::{Answer, Failure, Outcome};
use crate::input::random_key;
use crate::output::{Destination, print_bytes, write_new_file, write_stdout_secret};
use crate::source::SourceArgs;
use clap::{Args, Subcommand};
use codomyrmex_keys::OpenOptions;
use std::path::PathBuf;

/// Length of a KEK: a 256-bit XChaCha20-Poly1305 key.
const KEK_LEN: usize = 32;

/// Options of `rewrap`.
#[derive(Args)]
pub struct RewrapArgs {
    /// The KEK the store is sealed under now
    #[arg(long, value_name = "FILE")]
    old_kek: PathBuf,
    /// The KEK to seal it under from now on
    #[arg(long, value_name = "FILE")]
    new_kek: PathBuf,
}

/// The `kek` subcommands.
#[derive(Subcommand)]
pub enum KekCommand {
    /// Write a new random KEK (32 bytes) to a new file, mode 0400, or to a pipe
    Generate {
        /// The new file; '-' writes to standard output unless it is a terminal
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `seal`: seals every plain key file and version record in place, under
/// the KEK given with `--kek` or `--kek-credential`; prints how many files
/// it sealed. Running it again seals nothing more.
pub fn seal(source: &SourceArgs) -> Outcome {
    if !source.has_kek() {
        return Err(Failure::usage(
            "seal needs the KEK to seal under: --kek FILE or --kek-credential NAME",
        ));
    }
    let count = source.open()?.seal_all()?;
    print_bytes(format!("sealed {count} files\n").as_bytes())?;
    Ok(Answer::Yes)
}

/// `rewrap`: reseals every file under the new KEK, reading files sealed
/// under either KEK (or plain ones); one file at a time, each atomically,
/// so a run that is interrupted leaves every file readable with one of the
/// two KEKs, and running it again finishes it. Prints how many files it
/// rewrote.
pub fn rewrap(source: &SourceArgs, args: &RewrapArgs) -> Outcome {
    if source.has_kek() {
        return Err(Failure::usage(
            "rewrap takes its KEKs from --old-kek and --new-kek, not --kek",
        ));
    }
    let options = OpenOptions::new()
        .kek_file(&args.new_kek)
        .previous_kek_file(&args.old_kek);
    let count = source.open_with(options)?.seal_all()?;
    print_bytes(format!("rewrapped {count} files under the new KEK\n").as_bytes())?;
    Ok(Answer::Yes)
}

/// `kek generate`: 32 bytes from the OS CSPRNG, written only to a new file
/// (mode 0400 from its first instant) or to a pipe, never to a terminal.
pub fn kek(command: &KekCommand) -> Outcome {
    let KekCommand::Generate { out } = command;
    let destination = Destination::new(out)?;
    let kek = random_key(KEK_LEN)?;
    match destination {
        Destination::Stdout => write_stdout_secret(&kek)?,
        Destination::Path(path) => write_new_file(&path, &kek, 0o400)?,
    }
    Ok(Answer::Yes)
}
