//! `codomyrmex-keys`: the operator's command-line tool for a codomyrmex key
//! store. It creates, imports, rotates, stages and prunes keys, computes and
//! checks HMACs, derives HKDF subkeys, and exports keys for orchestrators and
//! Tink; it never prints key bytes unless told to with `--reveal`.
//!
//! Key material that passes through this process (imported keys, revealed
//! keys, derived keys, exported keys, the key behind a streaming HMAC) is
//! held in buffers that are wiped when dropped and never grow (a
//! reallocation would leave an unwiped copy). Secret input and output bypass
//! the standard library's stdin/stdout buffers: they go through duplicates
//! of the file descriptors. `docs/cli.md` lists what is not wiped.
//!
//! This file only parses the command line and dispatches; each subcommand
//! lives in a module of `commands`, beside its options.

mod buffer;
mod cli;
mod commands;
mod encoding;
mod failure;
mod input;
mod output;
mod source;
mod tink;

use crate::cli::{Cli, Command};
use crate::commands::{export, import, keys, macs, sealing, versions};
use crate::failure::{Answer, Failure, Outcome};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors, --help and --version exit here (2, 0, 0).
    let cli = Cli::parse();
    std::panic::set_hook(Box::new(|info| {
        Failure::internal(info.to_string()).report();
    }));
    // Unwinding (rather than aborting) lets every wiping buffer be dropped.
    let code = match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(Answer::Yes)) => 0,
        Ok(Ok(Answer::No)) => 1,
        Ok(Err(failure)) => {
            failure.report();
            failure.code()
        }
        Err(_) => Failure::internal("").code(),
    };
    ExitCode::from(code)
}

/// Runs one subcommand on the key source the global options choose.
fn run(cli: Cli) -> Outcome {
    let source = &cli.source;
    match cli.command {
        Command::Init => keys::init(source),
        Command::Generate(args) => keys::generate(source, &args),
        Command::Import(args) => import::import(source, &args),
        Command::List => keys::list(source),
        Command::Exists(args) => keys::exists(source, &args),
        Command::Delete(args) => keys::delete(source, &args),
        Command::Get(args) => keys::get(source, &args),
        Command::Rotate(args) => versions::rotate(source, &args),
        Command::Stage(args) => versions::stage(source, &args),
        Command::Promote(args) => versions::promote(source, &args),
        Command::Versions(args) => versions::versions(source, &args),
        Command::Status(args) => versions::status(source, &args),
        Command::Prune(args) => versions::prune(source, &args),
        Command::Hmac(args) => macs::hmac(source, &args),
        Command::Verify(args) => macs::verify(source, &args),
        Command::Derive(args) => macs::derive(source, &args),
        Command::Export(args) => export::export(source, &args),
        Command::Seal => sealing::seal(source),
        Command::Rewrap(args) => sealing::rewrap(source, &args),
        Command::Kek { command } => sealing::kek(&command),
        Command::Completions { shell } => keys::completions(shell),
    }
}
