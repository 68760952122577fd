//! The command line: subcommands, options and help texts.

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

/// Help text of every KEY_ID argument.
const KEY_ID_HELP: &str = "Key id: 1 to 128 characters from [A-Za-z0-9._-], not starting with '.'";

/// Shown after the top-level help: examples, where keys live and the exit
/// statuses.
const AFTER_HELP: &str = "\
Examples:
  codomyrmex-keys --dir /srv/keys init
  export CODOMYRMEX_KEY_DIR=/srv/keys
  codomyrmex-keys generate api
  printf hello | codomyrmex-keys hmac api --tagged
  codomyrmex-keys rotate api && codomyrmex-keys prune api --keep 2
Each subcommand's --help has more.

Key directory: --dir DIR, else $CODOMYRMEX_KEY_DIR (if set and non-empty),
else <tmp>/codomyrmex_keys where <tmp> is $TMPDIR, $TEMP, $TMP or /tmp.

Exit status:
   0  success (exists: the key exists; verify: the MAC is valid)
   1  no (exists: no such key; verify: the MAC is invalid)
   2  usage error (bad option or argument; derive without --reveal or --out)
  12  INVALID_ARGUMENT       a length, number, hex or base64 input is wrong
  13  INVALID_KEY_ID         the key id breaks the rule [A-Za-z0-9._-]{1,128}, no leading '.'
  14  UNSUPPORTED_ALGORITHM  --alg is not sha256, sha384 or sha512
  15  BUFFER_TOO_SMALL       (not expected from this tool)
  16  NOT_FOUND              no such key, or no such version
  17  ALREADY_EXISTS         the key id (or the --out file) already exists
  19  IO                     the operating system refused or failed
  20  INSECURE_PERMISSIONS   key dir or key file is not private to this user, or a symlink
  21  CORRUPT                a key file is empty, too large or not a regular file
  22  INTERNAL               a bug in this tool or the library
Codes 12 to 22 are 10 + the library's codomyrmex_status value.
Errors are one line on stderr: codomyrmex-keys: <KIND>: <message>

Key bytes are never printed unless --reveal is given.";

/// Operate a codomyrmex key directory: keys, versions, HMAC and HKDF.
#[derive(Parser)]
#[command(
    name = "codomyrmex-keys",
    version,
    long_about = "Operate a codomyrmex key directory: create, import, rotate, prune and delete \
keys, compute and verify HMACs (SHA-256/384/512), and derive HKDF subkeys. Keys stay in \
private files (<dir>/<key_id>.key, mode 0600); key bytes are never printed unless --reveal \
is given.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Key directory [default: $CODOMYRMEX_KEY_DIR, else <tmp>/codomyrmex_keys]
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Open (creating it, mode 0700, if absent) the key directory and print its resolved path
    #[command(after_help = "Examples:
  codomyrmex-keys --dir /srv/keys init
  CODOMYRMEX_KEY_DIR=/srv/keys codomyrmex-keys init")]
    Init,

    /// Create a random key (OS CSPRNG) under a new id
    #[command(after_help = "Examples:
  codomyrmex-keys generate api
  codomyrmex-keys generate signing --bytes 64")]
    Generate {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Key length in bytes (1 to 65536)
        #[arg(long, value_name = "N", default_value_t = 32)]
        bytes: usize,
    },

    /// Store a key read from FILE or standard input under a new id
    #[command(after_help = "Examples:
  codomyrmex-keys import api key.bin
  printf %s 4a656665 | codomyrmex-keys import jefe --format hex
  codomyrmex-keys import api key.b64 --format base64 --replace

hex and base64 input may contain whitespace and newlines (ignored); raw is taken verbatim.
--replace keeps the previous key as an older version.")]
    Import {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// File holding the key; standard input if absent or '-'
        file: Option<PathBuf>,
        /// How the key is written in the input
        #[arg(long, value_enum, default_value_t = Format::Raw)]
        format: Format,
        /// Store a new version if the id exists (instead of failing)
        #[arg(long)]
        replace: bool,
    },

    /// List key ids, one per line
    #[command(after_help = "Examples:
  codomyrmex-keys list
  codomyrmex-keys --dir /srv/keys list | wc -l")]
    List,

    /// Exit 0 if the key exists, 1 if not; prints nothing
    #[command(after_help = "Examples:
  codomyrmex-keys exists api || codomyrmex-keys generate api")]
    Exists {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
    },

    /// Make a new current version of a key; prints the new version number
    #[command(after_help = "Examples:
  codomyrmex-keys rotate api
  codomyrmex-keys rotate api --bytes 64
  codomyrmex-keys rotate api --from new-key.hex --format hex

The previous version is kept (see versions, prune). The key must exist.")]
    Rotate {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Length of the new random key in bytes (1 to 65536)
        #[arg(long, value_name = "N", conflicts_with = "from")]
        bytes: Option<usize>,
        /// Read the new key from FILE ('-': standard input) instead
        #[arg(long, value_name = "FILE")]
        from: Option<PathBuf>,
        /// How the key is written in --from
        #[arg(long, value_enum, requires = "from")]
        format: Option<Format>,
    },

    /// Delete a key and all its versions
    #[command(after_help = "Examples:
  codomyrmex-keys delete api")]
    Delete {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
    },

    /// Print the HMAC of FILE or standard input, in lowercase hex
    #[command(after_help = "Examples:
  codomyrmex-keys hmac api message.txt
  printf hello | codomyrmex-keys hmac api --alg sha512
  codomyrmex-keys hmac api backup.tar --tagged

Input is streamed: it may be of any size.")]
    Hmac {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Data to authenticate; standard input if absent or '-'
        file: Option<PathBuf>,
        /// sha256, sha384 or sha512
        #[arg(long, value_name = "ALG", default_value = "sha256")]
        alg: String,
        /// Print a tagged MAC (01 || version || HMAC) that names the key version
        #[arg(long)]
        tagged: bool,
    },

    /// Check a MAC: exit 0 if valid, 1 if not
    #[command(after_help = "Examples:
  codomyrmex-keys verify api \"$MAC\" message.txt
  printf hello | codomyrmex-keys verify api \"$MAC\" --alg sha512 --quiet
  codomyrmex-keys verify api \"$TAGGED\" backup.tar --tagged

Prints \"valid\" or \"invalid\" on stderr unless --quiet.")]
    Verify {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// The MAC in hex (from `hmac`, or `hmac --tagged` with --tagged)
        mac_hex: String,
        /// Data to check; standard input if absent or '-'
        file: Option<PathBuf>,
        /// sha256, sha384 or sha512
        #[arg(long, value_name = "ALG", default_value = "sha256")]
        alg: String,
        /// The MAC is tagged: verify with the key version it names
        #[arg(long)]
        tagged: bool,
        /// Print nothing; only the exit status tells
        #[arg(long, short)]
        quiet: bool,
    },

    /// Derive a subkey with HKDF, the stored key being the input key material
    #[command(after_help = "Examples:
  codomyrmex-keys derive api --len 32 --info session --reveal
  codomyrmex-keys derive api --len 64 --salt 00ff --info backup --alg sha512 --out sub.key

A derived key is as secret as the key it comes from: it is printed (hex) only
with --reveal, or written raw to a new file (mode 0600) with --out.")]
    Derive {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Length of the derived key in bytes (1 to 255 x the digest length)
        #[arg(long, value_name = "N")]
        len: usize,
        /// HKDF salt, in hex [default: none]
        #[arg(long, value_name = "HEX")]
        salt: Option<String>,
        /// HKDF info (context) text
        #[arg(long, value_name = "TEXT", default_value = "")]
        info: String,
        /// sha256, sha384 or sha512
        #[arg(long, value_name = "ALG", default_value = "sha256")]
        alg: String,
        /// Use this version of the key instead of the current one
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// Print the derived key in hex on stdout
        #[arg(long, conflicts_with = "out")]
        reveal: bool,
        /// Write the raw derived key to FILE (created, mode 0600; must not exist)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },

    /// List the kept versions of a key, marking the current one
    #[command(after_help = "Examples:
  codomyrmex-keys versions api")]
    Versions {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
    },

    /// Remove all but the newest N versions of a key
    #[command(after_help = "Examples:
  codomyrmex-keys prune api --keep 2")]
    Prune {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Versions to keep, the current one included (at least 1)
        #[arg(long, value_name = "N")]
        keep: u32,
    },

    /// Check that a key is readable; print its bytes only with --reveal or --out
    #[command(after_help = "Examples:
  codomyrmex-keys get api --reveal
  codomyrmex-keys get api --version 1 --out api-v1.key")]
    Get {
        #[arg(help = KEY_ID_HELP)]
        key_id: OsString,
        /// Version to read [default: the current one]
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// Print the key in hex on stdout
        #[arg(long, conflicts_with = "out")]
        reveal: bool,
        /// Write the raw key to FILE (created, mode 0600; must not exist)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },

    /// Print a shell completion script
    #[command(after_help = "Examples:
  codomyrmex-keys completions bash > /etc/bash_completion.d/codomyrmex-keys
  codomyrmex-keys completions zsh > \"${fpath[1]}/_codomyrmex-keys\"")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How key bytes are written in an input.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The bytes themselves
    Raw,
    /// Hexadecimal, either letter case
    Hex,
    /// Base64, standard or URL-safe alphabet, padding optional
    Base64,
}
