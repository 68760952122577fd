//! `codomyrmex-keys`: the operator's command-line tool for a codomyrmex key
//! directory. It creates, imports, rotates and prunes keys, computes and
//! checks HMACs and derives HKDF subkeys, and never prints key bytes unless
//! told to with `--reveal`.
//!
//! Key material that passes through this process (imported keys, revealed
//! keys, derived keys, the key behind a streaming HMAC) is held in buffers
//! that are wiped when dropped and never grow (a reallocation would leave an
//! unwiped copy). Secret input and output bypass the standard library's
//! stdin/stdout buffers: they go through duplicates of the file descriptors.
//! `docs/cli.md` lists what is not wiped.

mod cli;
mod failure;
mod secret_io;

use crate::cli::{Cli, Command, Format};
use crate::failure::{Answer, Failure, Outcome};
use crate::secret_io::{emit_secret, feed, from_hex, print_bytes, random_key, read_key, to_hex};
use clap::{CommandFactory, Parser};
use codomyrmex_keys::{
    ErrorKind, HashAlg, HmacStream, KeyManager, Status, Version, validate_key_id,
};
use std::ffi::OsStr;
use std::io::{self, Write};
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// The environment variable naming the key directory when `--dir` is absent.
const DIR_ENV: &str = "CODOMYRMEX_KEY_DIR";
/// Length of a random key when none is given.
const DEFAULT_KEY_LEN: usize = 32;

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

fn run(cli: Cli) -> Outcome {
    let dir = cli.dir.as_deref();
    match cli.command {
        Command::Init => {
            let km = open_dir(dir)?;
            let mut line = km.location().path().as_os_str().as_bytes().to_vec();
            line.push(b'\n');
            print_bytes(&line)?;
        }
        Command::Generate { key_id, bytes } => {
            let key_id = id(&key_id)?;
            open_dir(dir)?.generate(key_id, bytes)?;
        }
        Command::Import {
            key_id,
            file,
            format,
            replace,
        } => import(dir, id(&key_id)?, file.as_deref(), format, replace)?,
        Command::List => {
            let mut text = String::new();
            for key_id in open_dir(dir)?.list()? {
                text.push_str(&key_id);
                text.push('\n');
            }
            print_bytes(text.as_bytes())?;
        }
        Command::Exists { key_id } => {
            let key_id = id(&key_id)?;
            return Ok(answer(open_dir(dir)?.exists(key_id)?));
        }
        Command::Rotate {
            key_id,
            bytes,
            from,
            format,
        } => rotate(dir, id(&key_id)?, bytes, from.as_deref(), format)?,
        Command::Delete { key_id } => {
            let key_id = id(&key_id)?;
            open_dir(dir)?.delete(key_id)?;
        }
        Command::Hmac {
            key_id,
            file,
            alg,
            tagged,
        } => hmac(dir, id(&key_id)?, file.as_deref(), &alg, tagged)?,
        Command::Verify {
            key_id,
            mac_hex,
            file,
            alg,
            tagged,
            quiet,
        } => {
            let valid = verify(dir, id(&key_id)?, &mac_hex, file.as_deref(), &alg, tagged)?;
            if !quiet {
                let verdict = if valid { "valid" } else { "invalid" };
                let _ = writeln!(io::stderr(), "{verdict}");
            }
            return Ok(answer(valid));
        }
        Command::Derive {
            key_id,
            len,
            salt,
            info,
            alg,
            version,
            reveal,
            out,
        } => {
            let key_id = id(&key_id)?;
            if !reveal && out.is_none() {
                return Err(Failure::usage(
                    "a derived key is as secret as the key it comes from and is not printed by \
                     default: --reveal prints it in hex, --out FILE writes it raw to a new 0600 file",
                ));
            }
            let okm = derive(dir, key_id, len, salt.as_deref(), &info, &alg, version)?;
            emit_secret(&okm, out.as_deref())?;
        }
        Command::Versions { key_id } => {
            let key_id = id(&key_id)?;
            let versions = open_dir(dir)?.key(key_id)?.versions()?.all();
            let mut text = String::new();
            for (i, version) in versions.iter().enumerate() {
                let mark = if i + 1 == versions.len() {
                    " (current)"
                } else {
                    ""
                };
                text.push_str(&format!("{version}{mark}\n"));
            }
            print_bytes(text.as_bytes())?;
        }
        Command::Prune { key_id, keep } => {
            let key_id = id(&key_id)?;
            let Some(keep) = NonZeroU32::new(keep) else {
                return Err(Failure::invalid(
                    "--keep 0: the current version is always kept, so keep at least 1",
                ));
            };
            open_dir(dir)?.prune(key_id, keep)?;
        }
        Command::Get {
            key_id,
            version,
            reveal,
            out,
        } => {
            let key_id = id(&key_id)?;
            let km = open_dir(dir)?;
            let key = km.key(key_id)?.at(version_of(version)).get()?;
            if reveal || out.is_some() {
                emit_secret(&key, out.as_deref())?;
            } else {
                let _ = writeln!(
                    io::stderr(),
                    "codomyrmex-keys: key '{key_id}' is readable; its bytes are printed only \
                     with --reveal (hex) or written with --out FILE"
                );
            }
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "codomyrmex-keys", &mut script);
            print_bytes(&script)?;
        }
    }
    Ok(Answer::Yes)
}

/// `--version N` as a library version: absent or 0 is the current one.
fn version_of(number: Option<u32>) -> Version {
    number
        .and_then(NonZeroU32::new)
        .map_or(Version::Current, Version::Number)
}

fn answer(yes: bool) -> Answer {
    if yes { Answer::Yes } else { Answer::No }
}

/// Opens the key directory: `--dir`, else `$CODOMYRMEX_KEY_DIR` if set and
/// non-empty, else the library's default.
fn open_dir(dir: Option<&Path>) -> Result<KeyManager, Failure> {
    let from_env = || std::env::var_os(DIR_ENV).filter(|value| !value.is_empty());
    let km = match dir
        .map(PathBuf::from)
        .or_else(|| from_env().map(PathBuf::from))
    {
        Some(path) => KeyManager::open(path)?,
        None => KeyManager::open_default()?,
    };
    Ok(km)
}

/// Checks a key id against the library's rule (any bytes may arrive).
fn id(raw: &OsStr) -> Result<&str, Failure> {
    Ok(validate_key_id(raw.as_bytes())?)
}

fn alg_named(name: &str) -> Result<HashAlg, Failure> {
    Ok(HashAlg::from_name(name)?)
}

fn import(
    dir: Option<&Path>,
    key_id: &str,
    file: Option<&Path>,
    format: Format,
    replace: bool,
) -> Result<(), Failure> {
    let km = open_dir(dir)?;
    let key = read_key(file, format)?;
    if replace {
        return Ok(km.store(key_id, &key)?);
    }
    km.create(key_id, &key).map_err(|err| {
        let already = err.kind() == ErrorKind::AlreadyExists;
        let mut failure = Failure::from(err);
        if already {
            failure
                .message
                .push_str(" (--replace stores a new version)");
        }
        failure
    })
}

/// Rotates an existing key to a random one or one read from `from`, and
/// prints the new current version.
fn rotate(
    dir: Option<&Path>,
    key_id: &str,
    bytes: Option<usize>,
    from: Option<&Path>,
    format: Option<Format>,
) -> Result<(), Failure> {
    let km = open_dir(dir)?;
    // The library's rotate would create a missing key; an operator's typo
    // should not.
    if !km.exists(key_id)? {
        return Err(Failure::status(
            Status::NotFound,
            format!("key '{key_id}' does not exist (create it with generate or import)"),
        ));
    }
    let new_key = match from {
        Some(path) => read_key(Some(path), format.unwrap_or(Format::Raw))?,
        None => random_key(bytes.unwrap_or(DEFAULT_KEY_LEN))?,
    };
    drop(km.rotate(key_id, &new_key)?);
    drop(new_key);
    print_bytes(format!("{}\n", km.key(key_id)?.current_version()?).as_bytes())
}

/// Prints the HMAC (or tagged MAC) of `file` or standard input, streamed.
fn hmac(
    dir: Option<&Path>,
    key_id: &str,
    file: Option<&Path>,
    alg: &str,
    tagged: bool,
) -> Result<(), Failure> {
    let alg = alg_named(alg)?;
    let km = open_dir(dir)?;
    let mut line = if tagged {
        // The version chosen here stays readable even if a rotation follows:
        // the tag always names the key that made it.
        let mut stream = km.key(key_id)?.tagged_stream(alg)?;
        feed(|data| stream.update(data), file)?;
        to_hex(stream.finish().as_bytes())
    } else {
        let mut stream = HmacStream::new(alg, &km.get(key_id)?);
        feed(|data| stream.update(data), file)?;
        to_hex(stream.finish().as_bytes())
    };
    line.push('\n');
    print_bytes(line.as_bytes())
}

/// Whether `mac_hex` is the (tagged) MAC of `file` or standard input.
fn verify(
    dir: Option<&Path>,
    key_id: &str,
    mac_hex: &str,
    file: Option<&Path>,
    alg: &str,
    tagged: bool,
) -> Result<bool, Failure> {
    let alg = alg_named(alg)?;
    let mac = from_hex(mac_hex.trim().as_bytes(), "MAC_HEX")?;
    let km = open_dir(dir)?;
    if tagged {
        let mut verifier = km.key(key_id)?.tagged_verifier(alg, &mac)?;
        feed(|data| verifier.update(data), file)?;
        return Ok(verifier.finish().is_ok());
    }
    let mut stream = HmacStream::new(alg, &km.get(key_id)?);
    feed(|data| stream.update(data), file)?;
    Ok(stream.finish_verify(&mac).is_ok())
}

/// HKDF with a stored key: `len` bytes for `salt` (hex) and `info`.
fn derive(
    dir: Option<&Path>,
    key_id: &str,
    len: usize,
    salt: Option<&str>,
    info: &str,
    alg: &str,
    version: Option<u32>,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let alg = alg_named(alg)?;
    let max = 255 * alg.digest_len();
    if !(1..=max).contains(&len) {
        return Err(Failure::invalid(format!(
            "--len {len} is out of range: HKDF-{} derives 1 to {max} bytes",
            alg.name().to_ascii_uppercase()
        )));
    }
    let salt = from_hex(salt.unwrap_or("").trim().as_bytes(), "--salt")?;
    let km = open_dir(dir)?;
    let mut okm = Zeroizing::new(vec![0; len]);
    km.key(key_id)?
        .at(version_of(version))
        .derive(alg, &salt, info.as_bytes(), &mut okm)?;
    Ok(okm)
}
