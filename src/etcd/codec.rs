//! Decoders for the gateway's field encodings: base64 bytes (secret
//! values straight into wiped buffers) and 64-bit integers as strings.

use crate::secret::SecretBytes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Base64 bytes decoded into a buffer that is wiped when dropped.
#[derive(Default)]
pub(crate) struct SecretValue(pub Option<SecretBytes>);

impl SecretValue {
    /// The bytes (empty when the gateway left the field out).
    pub(crate) fn into_secret(self) -> SecretBytes {
        self.0.unwrap_or_else(|| SecretBytes::zeroed(0))
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl Visitor<'_> for SecretVisitor {
            type Value = SecretValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("base64 bytes")
            }
            // serde_json hands over a slice of the body (wiped by the
            // caller) unless the string has escapes, which base64 never has.
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SecretValue, E> {
                decode_secret(text)
                    .map(|bytes| SecretValue(Some(bytes)))
                    .ok_or_else(|| E::custom("a value is not valid base64"))
            }
        }
        deserializer.deserialize_str(SecretVisitor)
    }
}

/// Text that is a credential (an auth token), wiped when dropped.
pub(crate) struct SecretText(pub zeroize::Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = SecretText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SecretText, E> {
                Ok(SecretText(zeroize::Zeroizing::new(text.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Decodes padded standard base64 into a wiped buffer of exactly the
/// decoded length (so no resize copies it).
pub(crate) fn decode_secret(text: &str) -> Option<SecretBytes> {
    let input = text.as_bytes();
    let padding = input.iter().rev().take_while(|&&b| b == b'=').count();
    if !input.len().is_multiple_of(4) || padding > 2 {
        return None;
    }
    let exact = input.len() / 4 * 3 - padding;
    let mut out = SecretBytes::zeroed(exact);
    match STANDARD.decode_slice(input, out.as_mut_bytes()) {
        Ok(written) if written == exact => Some(out),
        _ => None,
    }
}

/// Decodes a `bytes` field that holds no secret (a key).
pub(crate) fn bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    STANDARD
        .decode(text.as_bytes())
        .map_err(|_| de::Error::custom("a key is not valid base64"))
}

/// An integer that arrives as a JSON string (or, leniently, a number).
struct IntVisitor<T>(std::marker::PhantomData<T>);

impl<T: std::str::FromStr + TryFrom<i64> + TryFrom<u64>> Visitor<'_> for IntVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse()
            .map_err(|_| E::custom("an integer field holds no integer"))
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::custom("an integer field is out of range"))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::custom("an integer field is out of range"))
    }
}

/// Decodes an `int64` field.
pub(crate) fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(IntVisitor::<i64>(std::marker::PhantomData))
}

/// Decodes a `uint64` field.
pub(crate) fn uint<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(IntVisitor::<u64>(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_decode_to_their_exact_length() {
        for len in 0..20usize {
            let data: Vec<u8> = (0..len as u8).collect();
            let text = STANDARD.encode(&data);
            let decoded = decode_secret(&text).unwrap();
            assert_eq!(decoded.as_bytes(), &data[..], "len {len}");
        }
        for bad in ["abc", "a===", "!!!!", "YQ=a"] {
            assert!(decode_secret(bad).is_none(), "{bad}");
        }
    }
}
