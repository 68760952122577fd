//! End-to-end tests of the `codomyrmex-keys` tool, each on a fresh
//! temporary key directory: every subcommand, the directory precedence, the
//! exit code of every error class, and that key bytes never reach stdout or
//! stderr without `--reveal`.

mod common;

use assert_cmd::Command;
use codomyrmex_keys::{HashAlg, KeyManager};
use common::{hex, to_hex};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const RFC4231_KEY: &[u8] = b"Jefe";
const RFC4231_DATA: &[u8] = b"what do ya want for nothing?";
/// RFC 4231 test case 2: HMAC-SHA-256, -384 and -512 of `RFC4231_DATA`
/// under `RFC4231_KEY`.
const RFC4231_MACS: [(&str, &str); 3] = [
    (
        "sha256",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        "sha384",
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
         8e2240ca5e69e2c78b3239ecfab21649",
    ),
    (
        "sha512",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
         9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ),
];

/// What one run of the tool produced.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// The one stdout line, without its newline.
    fn line(&self) -> String {
        let out = self.out();
        let line = out.strip_suffix('\n').expect("output ends with a newline");
        assert!(!line.contains('\n'), "more than one line: {out:?}");
        line.to_string()
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    /// Checks the exit code and that stderr is the one error line of `kind`.
    #[track_caller]
    fn fails(self, code: i32, kind: &str) -> Run {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        let prefix = format!("codomyrmex-keys: {kind}: ");
        assert!(
            self.stderr.starts_with(&prefix),
            "stderr: {:?}",
            self.stderr
        );
        assert_eq!(self.stderr.lines().count(), 1, "stderr: {:?}", self.stderr);
        assert!(self.stdout.is_empty(), "stdout: {:?}", self.out());
        self
    }
}

/// The tool with no key directory chosen: `CODOMYRMEX_KEY_DIR` removed and
/// the temporary directory (hence the default key dir) inside `tmp`.
fn bare(tmp: &Path) -> Command {
    let mut cmd = Command::cargo_bin("codomyrmex-keys").unwrap();
    cmd.env_remove("CODOMYRMEX_KEY_DIR")
        .env_remove("TEMP")
        .env_remove("TMP")
        .env("TMPDIR", tmp);
    cmd
}

/// A fresh temporary directory and the path of a key dir inside it.
fn fresh() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    (tmp, dir)
}

/// Runs the tool on key dir `dir` with `args`.
fn keys(dir: &Path, args: &[&str]) -> Run {
    keys_in(dir, args, None)
}

/// Runs the tool on key dir `dir` with `args`, feeding `stdin`.
fn keys_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = bare(dir.parent().unwrap());
    cmd.arg("--dir").arg(dir).args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: output.stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn write_file(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn help_shows_examples_for_every_subcommand_and_the_exit_codes() {
    let (_tmp, dir) = fresh();
    let help = keys(&dir, &["--help"]).ok().out();
    for code in [
        "INVALID_ARGUMENT",
        "INVALID_KEY_ID",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "INSECURE_PERMISSIONS",
        "CORRUPT",
        "CODOMYRMEX_KEY_DIR",
    ] {
        assert!(help.contains(code), "{code} missing from --help");
    }
    let subcommands = [
        "init",
        "generate",
        "import",
        "list",
        "exists",
        "rotate",
        "delete",
        "hmac",
        "verify",
        "derive",
        "versions",
        "prune",
        "get",
        "completions",
    ];
    for name in subcommands {
        assert!(help.contains(&format!("  {name} ")), "{name} not listed");
        let sub = keys(&dir, &[name, "--help"]).ok().out();
        assert!(
            sub.contains("Examples:\n  codomyrmex-keys"),
            "{name} --help has no examples:\n{sub}"
        );
    }
    let version = keys(&dir, &["--version"]).ok().line();
    assert_eq!(
        version,
        format!("codomyrmex-keys {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(!dir.exists(), "help must not create the key directory");
}

#[test]
fn init_creates_a_private_dir_and_prints_its_resolved_path() {
    let (tmp, _) = fresh();
    let dir = tmp.path().join("a/b/keys");
    let printed = keys(&dir, &["init"]).ok().line();
    assert_eq!(
        Path::new(&printed),
        std::fs::canonicalize(&dir).unwrap().as_path()
    );
    assert_eq!(mode_of(&dir), 0o700);
    // Opening an existing directory again is fine.
    assert_eq!(keys(&dir, &["init"]).ok().line(), printed);
}

#[test]
fn generate_list_exists_delete() {
    let (_tmp, dir) = fresh();
    assert_eq!(keys(&dir, &["list"]).ok().out(), "");
    keys(&dir, &["generate", "beta"]).ok();
    keys(&dir, &["generate", "alpha", "--bytes", "64"]).ok();
    assert_eq!(keys(&dir, &["list"]).ok().out(), "alpha\nbeta\n");

    let km = KeyManager::open(&dir).unwrap();
    assert_eq!(km.get("alpha").unwrap().len(), 64);
    assert_eq!(km.get("beta").unwrap().len(), 32);
    assert_eq!(mode_of(&dir.join("alpha.key")), 0o600);

    let yes = keys(&dir, &["exists", "alpha"]);
    assert_eq!((yes.code, yes.stdout.len(), yes.stderr.len()), (0, 0, 0));
    let no = keys(&dir, &["exists", "gamma"]);
    assert_eq!((no.code, no.stdout.len(), no.stderr.len()), (1, 0, 0));

    keys(&dir, &["rotate", "alpha"]).ok();
    keys(&dir, &["delete", "alpha"]).ok();
    assert_eq!(keys(&dir, &["list"]).ok().out(), "beta\n");
    assert_eq!(keys(&dir, &["exists", "alpha"]).code, 1);
    keys(&dir, &["delete", "alpha"]).fails(16, "NOT_FOUND");
    // No version of it is left behind either.
    keys(&dir, &["generate", "alpha"]).ok();
    assert_eq!(
        keys(&dir, &["versions", "alpha"]).ok().out(),
        "1 (current)\n"
    );
}

#[test]
fn hmac_of_rfc4231_case_2_with_an_imported_raw_key() {
    let (tmp, dir) = fresh();
    keys_in(&dir, &["import", "jefe"], Some(RFC4231_KEY)).ok();
    let data = write_file(tmp.path(), "data", RFC4231_DATA);
    for (alg, expected) in RFC4231_MACS {
        let from_stdin = keys_in(&dir, &["hmac", "jefe", "--alg", alg], Some(RFC4231_DATA));
        assert_eq!(from_stdin.ok().line(), expected, "{alg} from stdin");
        let from_dash = keys_in(
            &dir,
            &["hmac", "jefe", "-", "--alg", alg],
            Some(RFC4231_DATA),
        );
        assert_eq!(from_dash.ok().line(), expected, "{alg} from '-'");
        let from_file = keys(&dir, &["hmac", "jefe", &data, "--alg", alg]);
        assert_eq!(from_file.ok().line(), expected, "{alg} from a file");
        keys(&dir, &["verify", "jefe", expected, &data, "--alg", alg]).ok();
    }
    // The default algorithm is SHA-256; names are accepted in any spelling.
    let default = keys(&dir, &["hmac", "jefe", &data]).ok().line();
    assert_eq!(default, RFC4231_MACS[0].1);
    let spelled = keys(&dir, &["hmac", "jefe", &data, "--alg", "SHA-384"]);
    assert_eq!(spelled.ok().line(), RFC4231_MACS[1].1);
}

#[test]
fn hmac_streams_large_input_and_agrees_with_the_library() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let km = KeyManager::open(&dir).unwrap();
    // Several read chunks, not a multiple of the chunk size.
    let data: Vec<u8> = (0..3 * 65536 + 12345)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let path = write_file(tmp.path(), "big", &data);
    for alg in HashAlg::ALL {
        let expected = km.key("k").unwrap().hmac(alg, &data).unwrap().to_hex();
        let by_file = keys(&dir, &["hmac", "k", &path, "--alg", alg.name()]);
        assert_eq!(by_file.ok().line(), expected);
        let by_stdin = keys_in(&dir, &["hmac", "k", "--alg", alg.name()], Some(&data));
        assert_eq!(by_stdin.ok().line(), expected);
        let tagged = keys_in(
            &dir,
            &["hmac", "k", "--tagged", "--alg", alg.name()],
            Some(&data),
        );
        let library = km.key("k").unwrap().hmac_tagged(alg, &data).unwrap();
        assert_eq!(tagged.ok().line(), to_hex(library.as_bytes()));
    }
    // Empty input has a MAC too.
    let empty = keys_in(&dir, &["hmac", "k"], Some(b""));
    assert_eq!(
        empty.ok().line(),
        km.key("k")
            .unwrap()
            .hmac(HashAlg::Sha256, b"")
            .unwrap()
            .to_hex()
    );
}

#[test]
fn verify_accepts_the_mac_and_rejects_tampering() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let data = write_file(tmp.path(), "data", b"transfer 100 to alice");
    let forged = write_file(tmp.path(), "forged", b"transfer 900 to alice");
    let mac = keys(&dir, &["hmac", "k", &data]).ok().line();

    let valid = keys(&dir, &["verify", "k", &mac, &data]).ok();
    assert_eq!((valid.stdout.len(), valid.stderr.as_str()), (0, "valid\n"));
    let upper = mac.to_ascii_uppercase();
    keys(&dir, &["verify", "k", &upper, &data]).ok();
    let by_stdin = keys_in(&dir, &["verify", "k", &mac], Some(b"transfer 100 to alice"));
    by_stdin.ok();

    let tampered_data = keys(&dir, &["verify", "k", &mac, &forged]);
    assert_eq!(
        (tampered_data.code, tampered_data.stderr.as_str()),
        (1, "invalid\n")
    );
    let mut flipped = hex(&mac);
    flipped[31] ^= 1;
    let tampered_mac = keys(&dir, &["verify", "k", &to_hex(&flipped), &data]);
    assert_eq!(tampered_mac.code, 1);
    let truncated = keys(&dir, &["verify", "k", &mac[..62], &data]);
    assert_eq!(truncated.code, 1);
    let wrong_alg = keys(&dir, &["verify", "k", &mac, &data, "--alg", "sha512"]);
    assert_eq!(wrong_alg.code, 1);

    for (args, code) in [
        (vec!["verify", "k", &mac, &data, "--quiet"], 0),
        (vec!["verify", "k", &mac, &forged, "-q"], 1),
    ] {
        let quiet = keys(&dir, &args);
        assert_eq!(quiet.code, code);
        assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
    }
}

#[test]
fn rotation_keeps_tagged_macs_verifying_until_pruned() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let data = write_file(tmp.path(), "data", b"archived record");
    let plain_v1 = keys(&dir, &["hmac", "k", &data]).ok().line();
    let tagged_v1 = keys(&dir, &["hmac", "k", &data, "--tagged"]).ok().line();
    assert!(tagged_v1.starts_with("0100000001"), "{tagged_v1}");
    assert_eq!(&tagged_v1[10..], plain_v1);

    assert_eq!(keys(&dir, &["rotate", "k"]).ok().line(), "2");
    assert_eq!(
        keys(&dir, &["versions", "k"]).ok().out(),
        "1\n2 (current)\n"
    );
    // The plain MAC was made with the old key: it no longer verifies...
    assert_eq!(keys(&dir, &["verify", "k", &plain_v1, &data]).code, 1);
    // ...but the tagged one names version 1, which is kept.
    keys(&dir, &["verify", "k", &tagged_v1, &data, "--tagged"]).ok();
    let tagged_v2 = keys(&dir, &["hmac", "k", &data, "--tagged"]).ok().line();
    assert!(tagged_v2.starts_with("0100000002"), "{tagged_v2}");
    keys(&dir, &["verify", "k", &tagged_v2, &data, "--tagged"]).ok();
    // A tagged MAC is not a plain one, and the reverse.
    assert_eq!(keys(&dir, &["verify", "k", &tagged_v2, &data]).code, 1);
    let plain_v2 = keys(&dir, &["hmac", "k", &data]).ok().line();
    assert_eq!(
        keys(&dir, &["verify", "k", &plain_v2, &data, "--tagged"]).code,
        1
    );
    // The library agrees with the tool's tagged MACs.
    let km = KeyManager::open(&dir).unwrap();
    km.key("k")
        .unwrap()
        .hmac_verify_tagged(HashAlg::Sha256, b"archived record", &hex(&tagged_v1))
        .unwrap();
    // Tampering with the version or the format byte makes it invalid.
    let mut forged = hex(&tagged_v1);
    forged[4] = 2;
    assert_eq!(
        keys(&dir, &["verify", "k", &to_hex(&forged), &data, "--tagged"]).code,
        1
    );
    let mut forged = hex(&tagged_v1);
    forged[0] = 2;
    assert_eq!(
        keys(&dir, &["verify", "k", &to_hex(&forged), &data, "--tagged"]).code,
        1
    );
    let mut forged = hex(&tagged_v1);
    forged[1..5].copy_from_slice(&[0; 4]);
    assert_eq!(
        keys(&dir, &["verify", "k", &to_hex(&forged), &data, "--tagged"]).code,
        1
    );

    assert_eq!(
        keys(&dir, &["rotate", "k", "--bytes", "48"]).ok().line(),
        "3"
    );
    assert_eq!(km.get("k").unwrap().len(), 48);
    keys(&dir, &["prune", "k", "--keep", "2"]).ok();
    assert_eq!(
        keys(&dir, &["versions", "k"]).ok().out(),
        "2\n3 (current)\n"
    );
    // Version 1 is gone: its tagged MAC no longer verifies.
    let pruned = keys(&dir, &["verify", "k", &tagged_v1, &data, "--tagged"]);
    assert_eq!((pruned.code, pruned.stderr.as_str()), (1, "invalid\n"));
    keys(&dir, &["verify", "k", &tagged_v2, &data, "--tagged"]).ok();
    keys(&dir, &["get", "k", "--version", "1"]).fails(16, "NOT_FOUND");
    keys(&dir, &["prune", "k", "--keep", "1"]).ok();
    assert_eq!(keys(&dir, &["versions", "k"]).ok().out(), "3 (current)\n");
    keys(&dir, &["prune", "k", "--keep", "0"]).fails(12, "INVALID_ARGUMENT");
}

#[test]
fn rotate_from_a_file_and_its_refusals() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let new_key: Vec<u8> = (100..140).collect();
    let hex_file = write_file(
        tmp.path(),
        "new.hex",
        format!("{}\n", to_hex(&new_key)).as_bytes(),
    );
    let out = keys(
        &dir,
        &["rotate", "k", "--from", &hex_file, "--format", "hex"],
    );
    assert_eq!(out.ok().line(), "2");
    let km = KeyManager::open(&dir).unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), new_key);
    let raw = keys_in(
        &dir,
        &["rotate", "k", "--from", "-"],
        Some(b"raw key bytes"),
    );
    assert_eq!(raw.ok().line(), "3");
    assert_eq!(km.get("k").unwrap().as_bytes(), b"raw key bytes");

    keys(&dir, &["rotate", "missing"]).fails(16, "NOT_FOUND");
    assert_eq!(keys(&dir, &["exists", "missing"]).code, 1);
    keys(&dir, &["rotate", "k", "--bytes", "0"]).fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["rotate", "k", "--bytes", "65537"]).fails(12, "INVALID_ARGUMENT");
    let empty = keys_in(&dir, &["rotate", "k", "--from", "-"], Some(b""));
    empty.fails(12, "INVALID_ARGUMENT");
    // --bytes and --from exclude each other; --format needs --from.
    assert_eq!(
        keys(&dir, &["rotate", "k", "--bytes", "8", "--from", &hex_file]).code,
        2
    );
    assert_eq!(keys(&dir, &["rotate", "k", "--format", "hex"]).code, 2);
    assert_eq!(
        keys(&dir, &["versions", "k"]).ok().out(),
        "1\n2\n3 (current)\n"
    );
}

#[test]
fn derive_needs_reveal_and_equals_the_library() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let refused = keys(&dir, &["derive", "k", "--len", "32"]).fails(2, "USAGE");
    assert!(refused.stderr.contains("--reveal"), "{}", refused.stderr);

    let km = KeyManager::open(&dir).unwrap();
    for alg in HashAlg::ALL {
        let args = [
            "derive",
            "k",
            "--len",
            "42",
            "--salt",
            "00ff10",
            "--info",
            "session v1",
            "--alg",
            alg.name(),
            "--reveal",
        ];
        let first = keys(&dir, &args).ok().line();
        assert_eq!(keys(&dir, &args).ok().line(), first, "deterministic");
        let mut okm = [0; 42];
        km.key("k")
            .unwrap()
            .derive(alg, &[0x00, 0xff, 0x10], b"session v1", &mut okm)
            .unwrap();
        assert_eq!(first, to_hex(&okm));
    }
    // No salt and no info are the empty strings.
    let plain = keys(&dir, &["derive", "k", "--len", "16", "--reveal"])
        .ok()
        .line();
    let mut okm = [0; 16];
    km.key("k")
        .unwrap()
        .derive(HashAlg::Sha256, b"", b"", &mut okm)
        .unwrap();
    assert_eq!(plain, to_hex(&okm));
    // Another info gives another key.
    let other = keys(
        &dir,
        &["derive", "k", "--len", "16", "--info", "x", "--reveal"],
    );
    assert_ne!(other.ok().line(), plain);

    // Older versions can be derived from after a rotation.
    keys(&dir, &["rotate", "k"]).ok();
    let old = keys(
        &dir,
        &["derive", "k", "--len", "16", "--version", "1", "--reveal"],
    );
    assert_eq!(old.ok().line(), plain);
    let now = keys(&dir, &["derive", "k", "--len", "16", "--reveal"])
        .ok()
        .line();
    assert_ne!(now, plain);

    // --out: raw bytes in a new 0600 file, never over an existing one.
    let out = tmp.path().join("sub.key");
    let out_arg = out.to_str().unwrap();
    let written = keys(
        &dir,
        &[
            "derive",
            "k",
            "--len",
            "16",
            "--version",
            "1",
            "--out",
            out_arg,
        ],
    );
    assert!(written.ok().stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), okm);
    assert_eq!(mode_of(&out), 0o600);
    keys(&dir, &["derive", "k", "--len", "16", "--out", out_arg]).fails(17, "ALREADY_EXISTS");
    assert_eq!(std::fs::read(&out).unwrap(), okm, "existing file untouched");
    assert_eq!(
        keys(
            &dir,
            &["derive", "k", "--len", "8", "--reveal", "--out", out_arg]
        )
        .code,
        2
    );

    keys(&dir, &["derive", "k", "--len", "0", "--reveal"]).fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["derive", "k", "--len", "8161", "--reveal"]).fails(12, "INVALID_ARGUMENT");
    let longest = keys(&dir, &["derive", "k", "--len", "8160", "--reveal"]);
    assert_eq!(longest.ok().line().len(), 2 * 8160);
    keys(
        &dir,
        &["derive", "k", "--len", "8", "--salt", "abc", "--reveal"],
    )
    .fails(12, "INVALID_ARGUMENT");
    keys(
        &dir,
        &["derive", "k", "--len", "8", "--salt", "zz", "--reveal"],
    )
    .fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["derive", "nope", "--len", "8", "--reveal"]).fails(16, "NOT_FOUND");
}

#[test]
fn import_raw_hex_and_base64_from_files_and_stdin() {
    let (tmp, dir) = fresh();
    let key: Vec<u8> = (0..=255).rev().collect();
    let hex_text = format!("  {}\n", to_hex(&key));
    let b64_text = format!("{}\n", base64(&key));
    // `base64` and `xxd -p` wrap long lines.
    let wrapped: String = base64(&key)
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
        .collect();
    let cases: [(&str, &str, &[u8]); 4] = [
        ("raw", "raw", &key),
        ("hex", "hex", hex_text.as_bytes()),
        ("base64", "b64", b64_text.as_bytes()),
        ("base64", "wrapped", wrapped.as_bytes()),
    ];
    for (format, name, content) in cases {
        let file = write_file(tmp.path(), name, content);
        let from_file = format!("{name}-file");
        keys(&dir, &["import", &from_file, &file, "--format", format]).ok();
        let from_stdin = format!("{name}-stdin");
        keys_in(
            &dir,
            &["import", &from_stdin, "--format", format],
            Some(content),
        )
        .ok();
        let from_dash = format!("{name}-dash");
        keys_in(
            &dir,
            &["import", &from_dash, "-", "--format", format],
            Some(content),
        )
        .ok();
        for id in [&from_file, &from_stdin, &from_dash] {
            let revealed = keys(&dir, &["get", id, "--reveal"]).ok().line();
            assert_eq!(revealed, to_hex(&key), "{id}");
            assert_eq!(mode_of(&dir.join(format!("{id}.key"))), 0o600);
        }
    }
    // Raw input is verbatim: a trailing newline is part of the key.
    keys_in(&dir, &["import", "newline"], Some(b"secret\n")).ok();
    let revealed = keys(&dir, &["get", "newline", "--reveal"]).ok().line();
    assert_eq!(hex(&revealed), b"secret\n");
    // URL-safe base64 without padding is accepted too.
    let url = base64(&[0xfb, 0xff, 0xfe])
        .replace('+', "-")
        .replace('/', "_");
    keys_in(
        &dir,
        &["import", "url", "--format", "base64"],
        Some(url.as_bytes()),
    )
    .ok();
    assert_eq!(
        keys(&dir, &["get", "url", "--reveal"]).ok().line(),
        "fbfffe"
    );

    // Refusals.
    let bad = [
        ("hex", b"abc".as_slice()),
        ("hex", b"zz"),
        ("hex", b""),
        ("base64", b"@@@@"),
        ("base64", b"A"),
        ("raw", b""),
    ];
    for (format, content) in bad {
        let run = keys_in(&dir, &["import", "bad", "--format", format], Some(content));
        run.fails(12, "INVALID_ARGUMENT");
    }
    let too_long = vec![7; 65537];
    keys_in(&dir, &["import", "bad"], Some(&too_long)).fails(12, "INVALID_ARGUMENT");
    let longest = vec![7; 65536];
    keys_in(&dir, &["import", "longest"], Some(&longest)).ok();
    assert_eq!(keys(&dir, &["exists", "bad"]).code, 1);
    keys(&dir, &["import", "bad", "/nonexistent/key"]).fails(19, "IO");
    assert_eq!(keys(&dir, &["import", "bad", "--format", "pem"]).code, 2);
}

#[test]
fn import_refuses_an_existing_id_unless_replace() {
    let (tmp, dir) = fresh();
    keys_in(&dir, &["import", "k"], Some(b"first")).ok();
    let again = keys_in(&dir, &["import", "k"], Some(b"second")).fails(17, "ALREADY_EXISTS");
    assert!(again.stderr.contains("--replace"), "{}", again.stderr);
    keys_in(&dir, &["import", "k", "--replace"], Some(b"second")).ok();
    assert_eq!(
        keys(&dir, &["versions", "k"]).ok().out(),
        "1\n2 (current)\n"
    );
    let current = keys(&dir, &["get", "k", "--reveal"]).ok().line();
    assert_eq!(hex(&current), b"second");
    let old = keys(&dir, &["get", "k", "--version", "1", "--reveal"])
        .ok()
        .line();
    assert_eq!(hex(&old), b"first");
    // --replace on a new id simply creates it.
    keys_in(&dir, &["import", "fresh", "--replace"], Some(b"x")).ok();
    assert_eq!(
        keys(&dir, &["versions", "fresh"]).ok().out(),
        "1 (current)\n"
    );

    // get --out writes the raw key to a new private file.
    let out = tmp.path().join("k-v1");
    let out_arg = out.to_str().unwrap();
    let got = keys(&dir, &["get", "k", "--version", "1", "--out", out_arg]).ok();
    assert!(got.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), b"first");
    assert_eq!(mode_of(&out), 0o600);
    keys(&dir, &["get", "k", "--out", out_arg]).fails(17, "ALREADY_EXISTS");
    // Not over a symbolic link either, even a dangling one.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(tmp.path().join("target"), &link).unwrap();
    keys(&dir, &["get", "k", "--out", link.to_str().unwrap()]).fails(17, "ALREADY_EXISTS");
    assert!(!tmp.path().join("target").exists());
    // Without --reveal or --out, get prints no key bytes.
    let quiet = keys(&dir, &["get", "k"]).ok();
    assert!(quiet.stdout.is_empty());
    assert!(quiet.stderr.contains("--reveal"), "{}", quiet.stderr);
}

#[test]
fn dir_flag_wins_over_the_environment_which_wins_over_the_default() {
    let tmp = tempfile::tempdir().unwrap();
    let (flag_dir, env_dir) = (tmp.path().join("flag"), tmp.path().join("env"));
    let default_dir = tmp.path().join("codomyrmex_keys");
    let canonical = |dir: &Path| std::fs::canonicalize(dir).unwrap();

    let both = bare(tmp.path())
        .env("CODOMYRMEX_KEY_DIR", &env_dir)
        .args(["--dir", flag_dir.to_str().unwrap(), "generate", "one"])
        .output()
        .unwrap();
    assert!(both.status.success());
    assert!(flag_dir.join("one.key").exists());
    assert!(!env_dir.exists());
    // The flag may also follow the subcommand.
    bare(tmp.path())
        .env("CODOMYRMEX_KEY_DIR", &env_dir)
        .args(["init", "--dir", flag_dir.to_str().unwrap()])
        .assert()
        .success()
        .stdout(format!("{}\n", canonical(&flag_dir).display()));

    bare(tmp.path())
        .env("CODOMYRMEX_KEY_DIR", &env_dir)
        .args(["generate", "two"])
        .assert()
        .success();
    assert!(env_dir.join("two.key").exists());
    assert!(!flag_dir.join("two.key").exists());
    assert!(!default_dir.exists());

    // Neither: the library default, <TMPDIR>/codomyrmex_keys. An empty
    // variable counts as unset.
    bare(tmp.path())
        .env("CODOMYRMEX_KEY_DIR", "")
        .arg("init")
        .assert()
        .success()
        .stdout(format!("{}\n", canonical(&default_dir).display()));
    bare(tmp.path())
        .args(["generate", "three"])
        .assert()
        .success();
    assert!(default_dir.join("three.key").exists());
}

#[test]
fn every_error_class_has_its_exit_code() {
    let (tmp, dir) = fresh();
    keys(&dir, &["generate", "k"]).ok();
    let data = write_file(tmp.path(), "data", b"data");

    // 2: usage errors, reported by the parser.
    for args in [
        &["frobnicate"][..],
        &["generate"],
        &["generate", "k", "--bytes", "many"],
        &["prune", "k"],
        &["completions", "tcsh"],
    ] {
        let run = keys(&dir, args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    // 13: bad key ids, in every subcommand that takes one.
    for bad_id in ["../etc", ".hidden", "a/b", "sp ace", "", &"x".repeat(129)] {
        for args in [
            vec!["generate", bad_id],
            vec!["exists", bad_id],
            vec!["hmac", bad_id, &data],
            vec!["delete", bad_id],
            vec!["rotate", bad_id],
            vec!["get", bad_id],
            vec!["versions", bad_id],
        ] {
            keys(&dir, &args).fails(13, "INVALID_KEY_ID");
        }
    }
    let non_utf8 = bare(tmp.path())
        .arg("--dir")
        .arg(&dir)
        .arg("exists")
        .arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"k\xff"))
        .output()
        .unwrap();
    assert_eq!(non_utf8.status.code(), Some(13));
    // 16: missing key or version.
    keys(&dir, &["hmac", "nope", &data]).fails(16, "NOT_FOUND");
    keys(&dir, &["verify", "nope", &"00".repeat(32), &data]).fails(16, "NOT_FOUND");
    let tag = format!("0100000001{}", "00".repeat(32));
    keys(&dir, &["verify", "nope", &tag, &data, "--tagged"]).fails(16, "NOT_FOUND");
    keys(&dir, &["get", "k", "--version", "2"]).fails(16, "NOT_FOUND");
    keys(&dir, &["versions", "nope"]).fails(16, "NOT_FOUND");
    // 17: existing key.
    keys(&dir, &["generate", "k"]).fails(17, "ALREADY_EXISTS");
    // 14: bad algorithm.
    keys(&dir, &["hmac", "k", &data, "--alg", "md5"]).fails(14, "UNSUPPORTED_ALGORITHM");
    keys(&dir, &["verify", "k", "00", &data, "--alg", "sha1"]).fails(14, "UNSUPPORTED_ALGORITHM");
    keys(
        &dir,
        &["derive", "k", "--len", "8", "--alg", "sha3", "--reveal"],
    )
    .fails(14, "UNSUPPORTED_ALGORITHM");
    // 12: bad hex, bad lengths.
    keys(&dir, &["verify", "k", "not-hex", &data]).fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["verify", "k", "abc", &data]).fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["generate", "big", "--bytes", "65537"]).fails(12, "INVALID_ARGUMENT");
    keys(&dir, &["generate", "none", "--bytes", "0"]).fails(12, "INVALID_ARGUMENT");
    // 19: the operating system refuses.
    keys(&dir, &["hmac", "k", "/nonexistent/data"]).fails(19, "IO");
    keys(&dir, &["hmac", "k", tmp.path().to_str().unwrap()]).fails(19, "IO");
    let not_a_dir = PathBuf::from(&data);
    keys(&not_a_dir, &["list"]).fails(19, "IO");
    // 21: a corrupt (empty) key file.
    let empty = dir.join("empty.key");
    std::fs::write(&empty, b"").unwrap();
    std::fs::set_permissions(&empty, Permissions::from_mode(0o600)).unwrap();
    keys(&dir, &["hmac", "empty", &data]).fails(21, "CORRUPT");
    keys(&dir, &["get", "empty", "--reveal"]).fails(21, "CORRUPT");
    // 20: a key file or a key directory open to others.
    std::fs::set_permissions(dir.join("k.key"), Permissions::from_mode(0o644)).unwrap();
    keys(&dir, &["hmac", "k", &data]).fails(20, "INSECURE_PERMISSIONS");
    std::fs::set_permissions(dir.join("k.key"), Permissions::from_mode(0o600)).unwrap();
    keys(&dir, &["hmac", "k", &data]).ok();
    std::fs::set_permissions(&dir, Permissions::from_mode(0o777)).unwrap();
    for args in [
        &["init"][..],
        &["list"],
        &["hmac", "k", &data],
        &["generate", "new"],
    ] {
        keys(&dir, args).fails(20, "INSECURE_PERMISSIONS");
    }
    let link = tmp.path().join("link");
    std::fs::set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    keys(&link, &["list"]).fails(20, "INSECURE_PERMISSIONS");
}

#[test]
fn key_bytes_never_appear_without_reveal() {
    let (tmp, dir) = fresh();
    let key: Vec<u8> = (0..48).map(|i| (i * 37 + 0x91) as u8).collect();
    let key_file = write_file(tmp.path(), "key.bin", &key);
    let data = write_file(tmp.path(), "data", b"some data");
    let out = tmp.path().join("out");
    let secrets = [
        to_hex(&key),
        to_hex(&key).to_ascii_uppercase(),
        base64(&key),
        to_hex(&key[..8]),
    ];
    let check = |args: &[&str], stdin: Option<&[u8]>| {
        let run = keys_in(&dir, args, stdin);
        let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{args:?} printed key bytes:\n{text}"
            );
        }
        assert!(
            !run.stdout.windows(8).any(|w| w == &key[..8]),
            "{args:?} printed raw key bytes"
        );
        run
    };
    check(&["init"], None).ok();
    check(&["import", "k", &key_file], None).ok();
    check(&["import", "k", &key_file], None).fails(17, "ALREADY_EXISTS");
    check(
        &["import", "h", "--format", "hex"],
        Some(format!("{}zz", to_hex(&key)).as_bytes()),
    )
    .fails(12, "INVALID_ARGUMENT");
    check(
        &["import", "h", "--format", "hex"],
        Some(format!("{}a", to_hex(&key)).as_bytes()),
    )
    .fails(12, "INVALID_ARGUMENT");
    check(
        &["import", "b", "--format", "base64"],
        Some(format!("{}!", base64(&key)).as_bytes()),
    )
    .fails(12, "INVALID_ARGUMENT");
    check(&["list"], None).ok();
    check(&["exists", "k"], None).ok();
    check(&["versions", "k"], None).ok();
    check(&["get", "k"], None).ok();
    check(&["get", "k", "--version", "1"], None).ok();
    let mac = check(&["hmac", "k", &data], None).ok().line();
    check(&["hmac", "k", &data, "--tagged"], None).ok();
    check(&["hmac", "k", &data, "--alg", "sha512"], None).ok();
    check(&["verify", "k", &mac, &data], None).ok();
    check(&["verify", "k", &to_hex(&key[..32]), &data], None);
    check(&["derive", "k", "--len", "48"], None).fails(2, "USAGE");
    check(
        &["derive", "k", "--len", "48", "--out", out.to_str().unwrap()],
        None,
    )
    .ok();
    check(&["rotate", "k"], None).ok();
    check(&["rotate", "k", "--from", &key_file], None).ok();
    check(&["prune", "k", "--keep", "1"], None).ok();
    check(&["completions", "bash"], None).ok();
    check(&["--help"], None).ok();
    check(&["get", "k", "--out", out.to_str().unwrap()], None).fails(17, "ALREADY_EXISTS");
    check(&["delete", "k"], None).ok();

    // Only --reveal shows them.
    keys(&dir, &["import", "k", &key_file]).ok();
    let revealed = keys(&dir, &["get", "k", "--reveal"]).ok().line();
    assert_eq!(revealed, to_hex(&key));
}

#[test]
fn completions_for_every_shell() {
    let (_tmp, dir) = fresh();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = keys(&dir, &["completions", shell]).ok().out();
        assert!(script.contains("codomyrmex-keys"), "{shell}");
        assert!(script.contains("rotate"), "{shell}");
    }
    let bash = keys(&dir, &["completions", "bash"]).ok().out();
    assert!(bash.contains("complete -F"), "{bash}");
    assert!(
        !dir.exists(),
        "completions must not touch the key directory"
    );
}
