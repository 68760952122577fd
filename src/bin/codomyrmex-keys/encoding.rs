//! Hex and base64, decoded into and encoded from wiping buffers. Error
//! messages name offsets, never the offending (possibly secret) characters.

use crate::failure::Failure;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT,
};
use base64::{DecodeError, DecodeSliceError, Engine};
use zeroize::Zeroizing;

/// Decodes hex (either letter case) into a wiping buffer.
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

/// Decodes base64 (standard or URL-safe alphabet, padding optional).
pub fn decode_base64(text: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
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

/// The length of the standard, padded base64 encoding of `len` bytes.
pub fn base64_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Writes the standard, padded base64 encoding of `bytes` into `out`, which
/// must be exactly [`base64_len`] bytes long.
pub fn encode_base64_into(bytes: &[u8], out: &mut [u8]) -> Result<(), Failure> {
    match STANDARD.encode_slice(bytes, out) {
        Ok(n) if n == out.len() => Ok(()),
        _ => Err(Failure::internal("base64 output buffer of the wrong size")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_at_every_padding() {
        for len in 0..8 {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8 * 37).collect();
            let mut text = vec![0; base64_len(len)];
            encode_base64_into(&bytes, &mut text).unwrap();
            assert_eq!(text, STANDARD.encode(&bytes).as_bytes());
            assert_eq!(*decode_base64(&text, "t").unwrap(), bytes);
        }
    }

    #[test]
    fn hex_errors_name_offsets_not_characters() {
        let err = from_hex(b"0g", "x").err().unwrap();
        assert_eq!(err.message, "x: not a hex digit at offset 1");
        assert_eq!(*from_hex(b"0aFF", "x").unwrap(), [0x0a, 0xff]);
        assert_eq!(*to_hex(&[0x0a, 0xff]), "0aff");
    }
}
