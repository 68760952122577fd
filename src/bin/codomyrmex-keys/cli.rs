//! The command line: the global options and the list of subcommands, each
//! with its one-line description and examples. A subcommand's own options
//! are declared beside its implementation, in `commands`.

use crate::commands::export::ExportArgs;
use crate::commands::import::ImportArgs;
use crate::commands::keys::{GenerateArgs, GetArgs, KeyIdArg};
use crate::commands::macs::{DeriveArgs, HmacArgs, VerifyArgs};
use crate::commands::sealing::{KekCommand, RewrapArgs};
use crate::commands::versions::{NewVersionArgs, PromoteArgs, PruneArgs, StatusArgs};
use crate::source::SourceArgs;
use clap::{Parser, Subcommand};

/// Shown after the top-level help: examples, where keys live and the exit
/// statuses.
const AFTER_HELP: &str = "\
Examples:
  codomyrmex-keys --dir /srv/keys init
  export CODOMYRMEX_KEY_DIR=/srv/keys
  codomyrmex-keys generate api
  printf hello | codomyrmex-keys hmac api --tagged
  codomyrmex-keys stage api && codomyrmex-keys promote api 2
  codomyrmex-keys status
  codomyrmex-keys export --format k8s-secret --name api-keys --out secret.yaml api
  codomyrmex-keys --source mounted:/run/secrets verify api \"$TAG\" msg --tagged
Each subcommand's --help has more.

Key source: --dir DIR, or --source LOCATION (DIR, mounted:DIR read-only, or
etcd://HOST:PORT[,HOST:PORT...][/PREFIX] with --timeout-ms, --tls-ca,
--tls-cert, --tls-key, --etcd-user, --etcd-password-file), else
$CODOMYRMEX_KEY_DIR (if set and non-empty), else <tmp>/codomyrmex_keys
where <tmp> is $TMPDIR, $TEMP, $TMP or /tmp.

Versions: --version N chooses version N; --version 0 (or no --version) is
the current version.

Exit status:
   0  success (exists: the key exists; verify: the MAC is valid)
   1  no (exists: no such key; verify: the MAC is invalid)
   2  usage error (bad option or argument; derive without --reveal or
      --out; export to a terminal)
  12  INVALID_ARGUMENT       a length, number, hex, base64 or keyset input is wrong,
                             or a write to a read-only (mounted) source
  13  INVALID_KEY_ID         the key id breaks the rule [A-Za-z0-9._-]{1,128}, no leading '.'
  14  UNSUPPORTED_ALGORITHM  --alg is not sha256, sha384 or sha512
  15  BUFFER_TOO_SMALL       (not expected from this tool)
  16  NOT_FOUND              no such key, or no such version
  17  ALREADY_EXISTS         the key id (or the --out file) already exists
  19  IO                     the operating system refused or failed, or no etcd
                             member answered within --timeout-ms
  20  INSECURE_PERMISSIONS   key dir or key file is not private to this user (or, in a
                             mounted source, not trusted), or a symlink where none may be
  21  CORRUPT                a key file is empty, too large or not a regular file
  22  INTERNAL               a bug in this tool or the library
Codes 12 to 22 are 10 + the library's codomyrmex_status value.
Errors are one line on stderr: codomyrmex-keys: <KIND>: <message>

Key bytes are never printed unless --reveal is given; export writes them
only to its --out file, directory or a pipe, never to a terminal.";

/// Operate a codomyrmex key store: keys, versions, HMAC, HKDF and exports.
#[derive(Parser)]
#[command(
    name = "codomyrmex-keys",
    version,
    long_about = "Operate a codomyrmex key store: create, import, rotate, stage, promote, prune \
and delete keys, compute and verify HMACs (SHA-256/384/512), derive HKDF subkeys, and export \
keys as a Kubernetes Secret, a Docker secrets directory or a Tink keyset. Keys stay in private \
files (<dir>/<key_id>.key, mode 0600); key bytes are never printed unless --reveal is given.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Subcommand)]
pub enum Command {
    /// Open the key source (creating a key directory, mode 0700, if absent) and print where it is
    #[command(after_help = "Examples:
  codomyrmex-keys --dir /srv/keys init
  CODOMYRMEX_KEY_DIR=/srv/keys codomyrmex-keys init
  codomyrmex-keys --source mounted:/run/secrets init")]
    Init,

    /// Create a random key (OS CSPRNG) under a new id
    #[command(after_help = "Examples:
  codomyrmex-keys generate api
  codomyrmex-keys generate signing --bytes 64")]
    Generate(GenerateArgs),

    /// Store a key, or a Tink keyset's keys, read from FILE or standard input under a new id
    #[command(after_help = "Examples:
  codomyrmex-keys import api key.bin
  printf %s 4a656665 | codomyrmex-keys import jefe --format hex
  codomyrmex-keys import api key.b64 --format base64 --replace
  codomyrmex-keys import api keyset.json --format tink-keyset

hex and base64 input may contain whitespace and newlines (ignored); raw is taken verbatim.
--replace keeps the previous key as an older version; with tink-keyset it replaces
the key and all its versions with the keyset's. A tink-keyset import prints the
versions it stored, one per line: <version> <alg>, marked (current) or (staged).")]
    Import(ImportArgs),

    /// List key ids, one per line
    #[command(after_help = "Examples:
  codomyrmex-keys list
  codomyrmex-keys --dir /srv/keys list | wc -l")]
    List,

    /// Exit 0 if the key exists, 1 if not; prints nothing
    #[command(after_help = "Examples:
  codomyrmex-keys exists api || codomyrmex-keys generate api")]
    Exists(KeyIdArg),

    /// Delete a key and all its versions
    #[command(after_help = "Examples:
  codomyrmex-keys delete api")]
    Delete(KeyIdArg),

    /// Check that a key is readable; print its bytes only with --reveal or --out
    #[command(after_help = "Examples:
  codomyrmex-keys get api
  codomyrmex-keys get api --reveal
  codomyrmex-keys get api --version 1 --out api-v1.key

--version 0 is the current version, as is no --version.")]
    Get(GetArgs),

    /// Make a new current version of a key; prints the new version number
    #[command(after_help = "Examples:
  codomyrmex-keys rotate api
  codomyrmex-keys rotate api --bytes 64
  codomyrmex-keys rotate api --from new-key.hex --format hex

The previous version is kept (see versions, prune). The key must exist.")]
    Rotate(NewVersionArgs),

    /// Add a staged version: it verifies tagged MACs but makes none until promoted; prints its number
    #[command(after_help = "Examples:
  codomyrmex-keys stage api
  codomyrmex-keys stage api --from next.b64 --format base64
  codomyrmex-keys promote api 4

Stage on every host (or in the shared source) first, promote once all have it:
no host then meets a MAC made with a version it does not know.")]
    Stage(NewVersionArgs),

    /// Make a staged version current; the version it replaces is kept
    #[command(after_help = "Examples:
  codomyrmex-keys promote api 4")]
    Promote(PromoteArgs),

    /// List the versions of a key, marking the current and staged ones
    #[command(after_help = "Examples:
  codomyrmex-keys versions api")]
    Versions(KeyIdArg),

    /// Print one line per key: current, retained and staged versions (and for etcd,
    /// the revision and the members that answered)
    #[command(after_help = "Examples:
  codomyrmex-keys status
  codomyrmex-keys status api webhooks

Each line is: <key_id> current=<N> retained=<list> staged=<list>
where a list is comma-separated version numbers, or - when empty. For an
etcd source the line goes on with revision=<R> members=<reachable>/<all>:
the cluster's revision after the keys were read (every change shown is at
or below it) and how many members answered. Fields may be added at the end
of the line in later releases: read them by name.")]
    Status(StatusArgs),

    /// Remove all but the newest N versions of a key up to the current one
    #[command(after_help = "Examples:
  codomyrmex-keys prune api --keep 2

Staged versions are not touched.")]
    Prune(PruneArgs),

    /// Print the HMAC of FILE or standard input, in lowercase hex
    #[command(after_help = "Examples:
  codomyrmex-keys hmac api message.txt
  printf hello | codomyrmex-keys hmac api --alg sha512
  codomyrmex-keys hmac api backup.tar --tagged
  codomyrmex-keys hmac api message.txt --version 2

Input is streamed: it may be of any size. --version 0 is the current version.")]
    Hmac(HmacArgs),

    /// Check a MAC: exit 0 if valid, 1 if not
    #[command(after_help = "Examples:
  codomyrmex-keys verify api \"$MAC\" message.txt
  printf hello | codomyrmex-keys verify api \"$MAC\" --alg sha512 --quiet
  codomyrmex-keys verify api \"$TAGGED\" backup.tar --tagged

Prints \"valid\" or \"invalid\" on stderr unless --quiet.")]
    Verify(VerifyArgs),

    /// Derive a subkey with HKDF, the stored key being the input key material
    #[command(after_help = "Examples:
  codomyrmex-keys derive api --len 32 --info session --reveal
  codomyrmex-keys derive api --len 64 --salt 00ff --info backup --alg sha512 --out sub.key
  codomyrmex-keys derive api --len 32 --info session --version 1 --reveal

A derived key is as secret as the key it comes from: it is printed (hex) only
with --reveal, or written raw to a new file (mode 0600) with --out.
--version 0 is the current version, as is no --version.")]
    Derive(DeriveArgs),

    /// Write keys and their versions for an orchestrator or for Tink, never to a terminal
    #[command(after_help = "Examples:
  codomyrmex-keys export --name api-keys --namespace prod --out secret.yaml api webhooks
  codomyrmex-keys export --name api-keys --out - api | kubectl apply -f -
  codomyrmex-keys export --format docker-dir --out ./secrets api
  codomyrmex-keys export --format tink-keyset --alg sha512 --out keyset.json api

k8s-secret: a Secret manifest whose data holds <id>.key (current version) and
<id>.key.v<N> (retained versions), the names a mounted source reads.
docker-dir: a new directory (0700) of those files (0400), to mount as secrets.
tink-keyset: one key's versions as a cleartext Tink JSON keyset of HMAC keys
(TINK prefix, key id = version, primary = current version).
--out must not exist; '-' writes to standard output unless it is a terminal.")]
    Export(ExportArgs),

    /// Seal every plain key file and version in place under --kek (or --kek-credential)
    #[command(after_help = "Examples:
  codomyrmex-keys kek generate --out /etc/myapp/keys.kek
  codomyrmex-keys --dir /srv/keys --kek /etc/myapp/keys.kek seal
  codomyrmex-keys --dir /srv/keys --kek /etc/myapp/keys.kek --require-sealed list

Each file is sealed atomically: an interrupted run leaves every file
readable, and running it again finishes the work. Prints how many files it
sealed. Keep the KEK outside the key directory (the library refuses it there).")]
    Seal,

    /// Reseal every file under a new KEK; restartable after a crash
    #[command(after_help = "Examples:
  codomyrmex-keys kek generate --out new.kek
  codomyrmex-keys --dir /srv/keys rewrap --old-kek old.kek --new-kek new.kek

Files sealed under either KEK (or plain) are read; each is rewritten under the
new one atomically, so an interrupted rewrap leaves every file readable with
one of the two KEKs, and running it again finishes it.")]
    Rewrap(RewrapArgs),

    /// Key-encryption keys: make a new one
    #[command(after_help = "Examples:
  codomyrmex-keys kek generate --out /etc/myapp/keys.kek
  codomyrmex-keys kek generate --out - | systemd-creds encrypt --name=keys.kek - keys.kek.cred

The KEK is written only to a new file (mode 0400) or to a pipe, never to a terminal.")]
    Kek {
        #[command(subcommand)]
        command: KekCommand,
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
