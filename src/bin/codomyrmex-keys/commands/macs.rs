//! Computing with a key without its bytes leaving the library's types:
//! HMACs, tagged MACs, their verification, and HKDF subkeys.

use super::{KEY_ID_HELP, alg_named, answer, key_id, version_of};
use crate::encoding::{from_hex, to_hex};
use crate::failure::{Answer, Failure, Outcome};
use crate::input::feed;
use crate::output::{emit_secret, print_bytes};
use crate::source::SourceArgs;
use clap::Args;
use codomyrmex_keys::HmacStream;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Options of `hmac`.
#[derive(Args)]
pub struct HmacArgs {
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
    /// Use this version of the key; 0 is the current one [default: the current one]
    #[arg(long, value_name = "N")]
    version: Option<u32>,
}

/// Options of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
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
}

/// Options of `derive`.
#[derive(Args)]
pub struct DeriveArgs {
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
    /// Use this version of the key; 0 is the current one [default: the current one]
    #[arg(long, value_name = "N")]
    version: Option<u32>,
    /// Print the derived key in hex on stdout
    #[arg(long, conflicts_with = "out")]
    reveal: bool,
    /// Write the raw derived key to FILE (created, mode 0600; must not exist)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `hmac`: prints the HMAC (or tagged MAC) of the input, streamed.
pub fn hmac(source: &SourceArgs, args: &HmacArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let alg = alg_named(&args.alg)?;
    let km = source.open()?;
    let key = km.key(id)?.at(version_of(args.version));
    let file = args.file.as_deref();
    let mut line = if args.tagged {
        // The version chosen here stays readable even if a rotation follows:
        // the tag always names the key that made it.
        let mut stream = key.tagged_stream(alg)?;
        feed(|data| stream.update(data), file)?;
        to_hex(stream.finish().as_bytes())
    } else {
        let mut stream = HmacStream::new(alg, &key.get()?);
        feed(|data| stream.update(data), file)?;
        to_hex(stream.finish().as_bytes())
    };
    line.push('\n');
    print_bytes(line.as_bytes())?;
    Ok(Answer::Yes)
}

/// `verify`: exit status 0 if the (tagged) MAC is valid, 1 if not.
pub fn verify(source: &SourceArgs, args: &VerifyArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    let alg = alg_named(&args.alg)?;
    let mac = from_hex(args.mac_hex.trim().as_bytes(), "MAC_HEX")?;
    let km = source.open()?;
    let file = args.file.as_deref();
    let valid = if args.tagged {
        let mut verifier = km.key(id)?.tagged_verifier(alg, &mac)?;
        feed(|data| verifier.update(data), file)?;
        verifier.finish().is_ok()
    } else {
        let mut stream = HmacStream::new(alg, &km.get(id)?);
        feed(|data| stream.update(data), file)?;
        stream.finish_verify(&mac).is_ok()
    };
    if !args.quiet {
        let verdict = if valid { "valid" } else { "invalid" };
        let _ = writeln!(io::stderr(), "{verdict}");
    }
    Ok(answer(valid))
}

/// `derive`: an HKDF subkey, printed only with `--reveal` or written with
/// `--out`.
pub fn derive(source: &SourceArgs, args: &DeriveArgs) -> Outcome {
    let id = key_id(&args.key_id)?;
    if !args.reveal && args.out.is_none() {
        return Err(Failure::usage(
            "a derived key is as secret as the key it comes from and is not printed by \
             default: --reveal prints it in hex, --out FILE writes it raw to a new 0600 file",
        ));
    }
    let alg = alg_named(&args.alg)?;
    let max = 255 * alg.digest_len();
    if !(1..=max).contains(&args.len) {
        return Err(Failure::invalid(format!(
            "--len {} is out of range: HKDF-{} derives 1 to {max} bytes",
            args.len,
            alg.name().to_ascii_uppercase()
        )));
    }
    let salt = from_hex(
        args.salt.as_deref().unwrap_or("").trim().as_bytes(),
        "--salt",
    )?;
    let km = source.open()?;
    let mut okm = Zeroizing::new(vec![0; args.len]);
    km.key(id)?
        .at(version_of(args.version))
        .derive(alg, &salt, args.info.as_bytes(), &mut okm)?;
    emit_secret(&okm, args.out.as_deref())?;
    Ok(Answer::Yes)
}
