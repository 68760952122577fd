//! Reading keys and data, and writing secrets, without leaving unwiped
//! copies of key material behind.

use crate::cli::Format;
use crate::failure::Failure;
use codomyrmex_keys::{MAX_KEY_LEN, random_bytes};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest encoded (hex or base64) key input accepted, whitespace included.
const MAX_ENCODED_INPUT: usize = 4 * MAX_KEY_LEN;
/// Size of the chunks in which HMAC input is read.
const CHUNK: usize = 64 * 1024;

/// Opens `path` for reading, or standard input for `None` or `-`. Standard
/// input is read through a duplicate of its descriptor, so that no secret
/// passes through the standard library's (never wiped) stdin buffer.
fn open_input(path: Option<&Path>) -> Result<(File, PathBuf), Failure> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => File::open(path)
            .map(|file| (file, path.to_path_buf()))
            .map_err(|err| Failure::io("cannot open", path, &err)),
        None => {
            let label = PathBuf::from("<stdin>");
            io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map(|fd| (File::from(fd), label.clone()))
                .map_err(|err| Failure::io("cannot read", &label, &err))
        }
    }
}

/// Feeds all of `input` to `stream`, in chunks.
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

/// Reads a key from `path` (standard input for `None` or `-`) written in
/// `format`, into wiping buffers allocated once.
pub fn read_key(path: Option<&Path>, format: Format) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let (mut file, label) = open_input(path)?;
    if label.as_os_str() == "<stdin>" && io::stdin().is_terminal() {
        let _ = writeln!(
            io::stderr(),
            "codomyrmex-keys: reading the key from the terminal; end it with Ctrl-D"
        );
    }
    let limit = if format == Format::Raw {
        MAX_KEY_LEN
    } else {
        MAX_ENCODED_INPUT
    };
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
    if len > limit {
        return Err(Failure::invalid(format!(
            "{}: the key input is over {limit} bytes (keys are 1 to {MAX_KEY_LEN} bytes)",
            label.display()
        )));
    }
    input.truncate(len);
    if format == Format::Raw {
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
    if format == Format::Hex {
        return from_hex(&input, &label.display().to_string());
    }
    decode_base64(&input, &label.display().to_string())
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional). Error
/// messages name offsets, never the offending (secret) characters.
fn decode_base64(text: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
    use base64::{DecodeError, DecodeSliceError, Engine};
    let engine = if text.iter().any(|&c| c == b'-' || c == b'_') {
        URL_SAFE_PAD_INDIFFERENT
    } else {
        STANDARD_PAD_INDIFFERENT
    };
    let mut out = Zeroizing::new(vec![0; base64::decoded_len_estimate(text.len())]);
    let why = match engine.decode_slice(text, &mut out) {
        Ok(n) => {
            out.truncate(n);
            return Ok(out);
        }
        Err(DecodeSliceError::DecodeError(DecodeError::InvalidByte(at, _))) => {
            format!("invalid base64 character at offset {at}")
        }
        Err(DecodeSliceError::DecodeError(DecodeError::InvalidLastSymbol {
            offset: at, ..
        })) => {
            format!("invalid last base64 character at offset {at}")
        }
        Err(DecodeSliceError::DecodeError(DecodeError::InvalidLength(n))) => {
            format!("invalid base64 length ({n} characters)")
        }
        Err(_) => "invalid base64 padding".to_string(),
    };
    Err(Failure::invalid(format!("{what}: {why}")))
}

/// Decodes hex (either letter case) into a wiping buffer. Error messages
/// name offsets, never the offending characters.
pub fn from_hex(text: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return Err(Failure::invalid(format!(
            "{what}: odd number of hex digits ({})",
            text.len()
        )));
    }
    let mut out = Zeroizing::new(vec![0; text.len() / 2]);
    for (i, pair) in text.chunks_exact(2).enumerate() {
        let (Some(high), Some(low)) = (nibble(pair[0]), nibble(pair[1])) else {
            let at = 2 * i + usize::from(nibble(pair[0]).is_some());
            return Err(Failure::invalid(format!(
                "{what}: not a hex digit at offset {at}"
            )));
        };
        out[i] = high << 4 | low;
    }
    Ok(out)
}

/// Lowercase hex of `bytes`, in a wiping string with room for a newline.
pub fn to_hex(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = Zeroizing::new(String::with_capacity(2 * bytes.len() + 1));
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    text
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

/// Writes secret bytes: raw to a new file `out` (mode 0600, never an
/// existing file or a symlink), else hex on standard output through a
/// duplicate descriptor (so no copy stays in the stdout buffer).
pub fn emit_secret(secret: &[u8], out: Option<&Path>) -> Result<(), Failure> {
    let Some(path) = out else {
        let mut line = to_hex(secret);
        line.push('\n');
        let label = Path::new("<stdout>");
        io::stdout()
            .flush()
            .map_err(|err| Failure::io("cannot write", label, &err))?;
        let mut stdout = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|err| Failure::io("cannot write", label, &err))?;
        return stdout
            .write_all(line.as_bytes())
            .map_err(|err| Failure::io("cannot write", label, &err));
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|err| Failure::io("cannot create", path, &err))?;
    let written = file
        .set_permissions(Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(secret))
        .and_then(|()| file.sync_all());
    written.map_err(|err| {
        let _ = std::fs::remove_file(path);
        Failure::io("cannot write", path, &err)
    })
}

/// Writes non-secret output to standard output.
pub fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|err| Failure::io("cannot write", Path::new("<stdout>"), &err))
}
