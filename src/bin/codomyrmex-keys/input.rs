//! Reading keys, keysets and data from files or standard input without
//! leaving unwiped copies of key material behind.

use crate::encoding::{decode_base64, from_hex};
use crate::failure::Failure;
use clap::ValueEnum;
use codomyrmex_keys::{MAX_KEY_LEN, random_bytes};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest encoded (hex or base64) key input accepted, whitespace included.
const MAX_ENCODED_INPUT: usize = 4 * MAX_KEY_LEN;
/// Size of the chunks in which HMAC input is read.
const CHUNK: usize = 64 * 1024;
/// How standard input is named in messages.
const STDIN_LABEL: &str = "<stdin>";

/// How key bytes are written in an input.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    /// The bytes themselves
    Raw,
    /// Hexadecimal, either letter case
    Hex,
    /// Base64, standard or URL-safe alphabet, padding optional
    Base64,
}

/// Opens `path` for reading, or standard input for `None` or `-`. Standard
/// input is read through a duplicate of its descriptor, so that no secret
/// passes through the standard library's (never wiped) stdin buffer.
fn open_input(path: Option<&Path>) -> Result<(File, PathBuf), Failure> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => File::open(path)
            .map(|file| (file, path.to_path_buf()))
            .map_err(|err| Failure::io("cannot open", path, &err)),
        None => {
            let label = PathBuf::from(STDIN_LABEL);
            io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map(|fd| (File::from(fd), label.clone()))
                .map_err(|err| Failure::io("cannot read", &label, &err))
        }
    }
}

/// Feeds all of `input` (standard input for `None` or `-`) to `update`, in
/// chunks.
pub fn feed(mut update: impl FnMut(&[u8]), input: Option<&Path>) -> Result<(), Failure> {
    let (mut file, label) = open_input(input)?;
    let mut chunk = vec![0; CHUNK];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => update(&chunk[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::io("cannot read", &label, &err)),
        }
    }
}

/// Reads all of `path` (standard input for `None` or `-`), at most `limit`
/// bytes, into a wiping buffer allocated once; `what` names the content in
/// the message for a larger input. Returns the bytes and the input's label.
pub fn read_secret(
    path: Option<&Path>,
    limit: usize,
    what: &str,
) -> Result<(Zeroizing<Vec<u8>>, String), Failure> {
    let (mut file, label) = open_input(path)?;
    if label.as_os_str() == STDIN_LABEL && io::stdin().is_terminal() {
        let _ = writeln!(
            io::stderr(),
            "codomyrmex-keys: reading the {what} from the terminal; end it with Ctrl-D"
        );
    }
    let mut input = Zeroizing::new(vec![0; limit + 1]);
    let mut len = 0;
    while len < input.len() {
        match file.read(&mut input[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::io("cannot read", &label, &err)),
        }
    }
    let label = label.display().to_string();
    if len > limit {
        return Err(Failure::invalid(format!(
            "{label}: the {what} input is over {limit} bytes"
        )));
    }
    input.truncate(len);
    Ok((input, label))
}

/// Reads a key from `path` (standard input for `None` or `-`) written in
/// `format`, into wiping buffers.
pub fn read_key(path: Option<&Path>, format: KeyFormat) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let limit = if format == KeyFormat::Raw {
        MAX_KEY_LEN
    } else {
        MAX_ENCODED_INPUT
    };
    let (mut input, label) = read_secret(path, limit, "key")?;
    if format == KeyFormat::Raw {
        return Ok(input);
    }
    // Whitespace anywhere is ignored (`base64` and `xxd -p` wrap lines).
    let mut kept = 0;
    for i in 0..input.len() {
        if !input[i].is_ascii_whitespace() {
            input[kept] = input[i];
            kept += 1;
        }
    }
    input.truncate(kept);
    match format {
        KeyFormat::Hex => from_hex(&input, &label),
        _ => decode_base64(&input, &label),
    }
}

/// A random key of `len` bytes from the OS CSPRNG.
pub fn random_key(len: usize) -> Result<Zeroizing<Vec<u8>>, Failure> {
    if !(1..=MAX_KEY_LEN).contains(&len) {
        return Err(Failure::invalid(format!(
            "key length {len} is out of range: keys are 1 to {MAX_KEY_LEN} bytes"
        )));
    }
    let mut key = Zeroizing::new(vec![0; len]);
    random_bytes(&mut key)?;
    Ok(key)
}
