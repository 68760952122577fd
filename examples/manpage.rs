//! Writes the man pages of the `codomyrmex-keys` command-line tool, from the
//! same clap definition the tool parses its arguments with:
//!
//! ```sh
//! cargo run --release --features cli --example manpage -- OUT_DIR
//! ```
//!
//! `OUT_DIR/codomyrmex-keys.1` describes the tool and lists its subcommands;
//! `OUT_DIR/codomyrmex-keys-<subcommand>.1` describes each of them. The
//! Debian package installs them (debian/rules).

use clap::CommandFactory;
use std::path::PathBuf;

// The tool's modules, as its main.rs declares them at its root: the clap
// definition in `cli` refers to the options each subcommand's module
// declares.
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/buffer.rs"]
mod buffer;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/commands/mod.rs"]
mod commands;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/encoding.rs"]
mod encoding;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/failure.rs"]
mod failure;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/output.rs"]
mod output;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/source.rs"]
mod source;
#[allow(dead_code)]
#[path = "../src/bin/codomyrmex-keys/tink/mod.rs"]
mod tink;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .unwrap_or_else(|| "target/man".into()),
    );
    std::fs::create_dir_all(&out)?;
    let command = cli::Cli::command();
    clap_mangen::generate_to(command, &out)?;
    Ok(())
}
