//! Tink's `HmacKey` protobuf message, encoded and decoded by hand: it has
//! three fields, one of them a two-field message, so a protobuf crate (with
//! its code generator, and key bytes in buffers it would not wipe) would be
//! far more than the job needs.
//!
//! ```text
//! message HmacParams { HashType hash = 1; uint32 tag_size = 2; }
//! message HmacKey { uint32 version = 1; HmacParams params = 2; bytes key_value = 3; }
//! enum HashType { UNKNOWN_HASH = 0; SHA1 = 1; SHA384 = 2; SHA256 = 3; SHA512 = 4; SHA224 = 5; }
//! ```

use crate::buffer::SecretBuffer;
use crate::failure::Failure;
use codomyrmex_keys::HashAlg;
use zeroize::Zeroizing;

/// Wire type of a varint field.
const VARINT: u8 = 0;
/// Wire type of a fixed 64-bit field.
const FIXED64: u8 = 1;
/// Wire type of a length-delimited field (bytes, strings, messages).
const LEN: u8 = 2;
/// Wire type of a fixed 32-bit field.
const FIXED32: u8 = 5;

/// Tink's `HashType` number of `alg`.
pub fn hash_type(alg: HashAlg) -> u64 {
    match alg {
        HashAlg::Sha384 => 2,
        HashAlg::Sha256 => 3,
        HashAlg::Sha512 => 4,
    }
}

/// The algorithm of Tink's `HashType` number `value`, or its name if this
/// store does not support it.
pub fn alg_of_hash_type(value: u64) -> Result<HashAlg, &'static str> {
    match value {
        2 => Ok(HashAlg::Sha384),
        3 => Ok(HashAlg::Sha256),
        4 => Ok(HashAlg::Sha512),
        1 => Err("SHA1"),
        5 => Err("SHA224"),
        0 => Err("UNKNOWN_HASH"),
        _ => Err("an unknown hash type"),
    }
}

fn push_varint(out: &mut SecretBuffer, mut value: u64) -> Result<(), Failure> {
    let mut bytes = [0; 10];
    let mut len = 0;
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes[len] = low;
            len += 1;
            break;
        }
        bytes[len] = low | 0x80;
        len += 1;
    }
    out.push_bytes(&bytes[..len])
}

fn push_tag(out: &mut SecretBuffer, field: u64, wire_type: u8) -> Result<(), Failure> {
    push_varint(out, field << 3 | u64::from(wire_type))
}

/// The serialized `HmacKey` for `key` under `alg`: version 0 (left out, as
/// proto3 leaves out defaults), params {hash, tag_size = the digest length},
/// key_value.
pub fn encode_hmac_key(alg: HashAlg, key: &[u8]) -> Result<SecretBuffer, Failure> {
    let tag_size = alg.digest_len() as u64;
    SecretBuffer::build(|out| {
        push_tag(out, 2, LEN)?;
        // Both params fields are one-byte varints: hash <= 5, tag_size <= 64.
        push_varint(out, 4)?;
        push_tag(out, 1, VARINT)?;
        push_varint(out, hash_type(alg))?;
        push_tag(out, 2, VARINT)?;
        push_varint(out, tag_size)?;
        push_tag(out, 3, LEN)?;
        push_varint(out, key.len() as u64)?;
        out.push_bytes(key)
    })
}

/// A decoded `HmacKey`.
pub struct HmacKeyMessage {
    pub version: u64,
    pub hash: u64,
    pub tag_size: u64,
    pub key_value: Zeroizing<Vec<u8>>,
}

/// Reads protobuf wire format.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("truncated varint".into());
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint over 10 bytes".into())
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or("a field runs past the end of the message")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn length_delimited(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.varint()?).map_err(|_| "field length too large")?;
        self.take(len)
    }

    /// The next field's number and wire type.
    fn tag(&mut self) -> Result<(u64, u8), String> {
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 {
            return Err("field number 0".into());
        }
        Ok((field, (tag & 7) as u8))
    }

    /// Skips a field of an unknown number.
    fn skip(&mut self, wire_type: u8) -> Result<(), String> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.length_delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            other => Err(format!("unsupported wire type {other}")),
        }
    }

    /// A varint field's value, checking its wire type.
    fn varint_field(&mut self, wire_type: u8, name: &str) -> Result<u64, String> {
        if wire_type != VARINT {
            return Err(format!(
                "field {name} has wire type {wire_type}, not a varint"
            ));
        }
        self.varint()
    }
}

/// Decodes a serialized `HmacKey`. Unknown fields are skipped, a repeated
/// scalar field keeps its last value and a repeated `params` is merged, as
/// protobuf parsers do. Errors never quote the bytes.
pub fn decode_hmac_key(bytes: &[u8]) -> Result<HmacKeyMessage, String> {
    let mut message = HmacKeyMessage {
        version: 0,
        hash: 0,
        tag_size: 0,
        key_value: Zeroizing::new(Vec::new()),
    };
    let mut reader = Reader { bytes, at: 0 };
    while !reader.done() {
        match reader.tag()? {
            (1, wire_type) => message.version = reader.varint_field(wire_type, "version")?,
            (2, LEN) => decode_params(reader.length_delimited()?, &mut message)?,
            (3, LEN) => {
                message.key_value = Zeroizing::new(reader.length_delimited()?.to_vec());
            }
            (field @ (2 | 3), wire_type) => {
                return Err(format!(
                    "field {field} has wire type {wire_type}, not length-delimited"
                ));
            }
            (_, wire_type) => reader.skip(wire_type)?,
        }
    }
    Ok(message)
}

fn decode_params(bytes: &[u8], message: &mut HmacKeyMessage) -> Result<(), String> {
    let mut reader = Reader { bytes, at: 0 };
    while !reader.done() {
        match reader.tag()? {
            (1, wire_type) => message.hash = reader.varint_field(wire_type, "params.hash")?,
            (2, wire_type) => {
                message.tag_size = reader.varint_field(wire_type, "params.tag_size")?;
            }
            (_, wire_type) => reader.skip(wire_type)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_tink_does() {
        // Tink's own serialization of an HMAC-SHA256 key with a 32-byte tag:
        // 12 04 08 03 10 20 | 1a 20 <32 key bytes>.
        let key = [0x5a; 32];
        let encoded = encode_hmac_key(HashAlg::Sha256, &key).unwrap();
        let mut expected = vec![0x12, 0x04, 0x08, 0x03, 0x10, 0x20, 0x1a, 0x20];
        expected.extend_from_slice(&key);
        assert_eq!(encoded.as_bytes(), expected);
    }

    #[test]
    fn round_trips_every_algorithm_and_long_keys() {
        for alg in HashAlg::ALL {
            for len in [1, 16, 127, 128, 300, 65536] {
                let key: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let encoded = encode_hmac_key(alg, &key).unwrap();
                let decoded = decode_hmac_key(encoded.as_bytes()).unwrap();
                assert_eq!(decoded.version, 0);
                assert_eq!(alg_of_hash_type(decoded.hash), Ok(alg));
                assert_eq!(decoded.tag_size, alg.digest_len() as u64);
                assert_eq!(*decoded.key_value, key);
            }
        }
    }

    #[test]
    fn skips_unknown_fields_and_refuses_malformed_input() {
        // version 1, an unknown fixed32 field 9, params, key.
        let bytes = [
            0x08, 0x01, 0x4d, 1, 2, 3, 4, 0x12, 0x04, 0x08, 0x04, 0x10, 0x40, 0x1a, 0x01, 0xaa,
        ];
        let decoded = decode_hmac_key(&bytes).unwrap();
        assert_eq!(
            (decoded.version, decoded.hash, decoded.tag_size),
            (1, 4, 64)
        );
        assert_eq!(*decoded.key_value, [0xaa]);
        for bad in [
            &[0x1a, 0x05, 0xaa][..],
            &[0x08],
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            &[0x00, 0x01],
            &[0x0b],
            &[0x10, 0x01],
        ] {
            assert!(decode_hmac_key(bad).is_err(), "{bad:x?}");
        }
    }
}
