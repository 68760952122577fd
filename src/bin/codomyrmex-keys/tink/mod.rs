//! Google Tink MAC keysets in Tink's cleartext JSON format, so that services
//! moving to or from Tink verify each other's MACs.
//!
//! Tink's MAC primitive with output prefix TINK makes exactly this store's
//! tagged MACs, `0x01 || key id (4 bytes, big-endian) || HMAC`, so with key
//! id = version number each side verifies the other's tags. A keyset is
//!
//! ```json
//! {"primaryKeyId": 3, "key": [{"keyData": {"typeUrl":
//!   "type.googleapis.com/google.crypto.tink.HmacKey", "value": "<base64 of
//!   the serialized HmacKey>", "keyMaterialType": "SYMMETRIC"}, "status":
//!   "ENABLED", "keyId": 3, "outputPrefixType": "TINK"}, ...]}
//! ```
//!
//! Enum fields may be written by name or by number, and a key id as a
//! number or a string, as protobuf's JSON mapping allows; Tink for Java
//! writes ids above 2^31 as negative numbers, which are read as the same 32
//! bits.

mod json;
mod proto;

use crate::buffer::SecretBuffer;
use crate::encoding::decode_base64;
use crate::failure::Failure;
use codomyrmex_keys::{HashAlg, MAX_KEY_LEN};
use json::Json;
use std::num::NonZeroU32;
use zeroize::Zeroizing;

/// The type URL of Tink's HMAC keys.
pub const HMAC_KEY_TYPE_URL: &str = "type.googleapis.com/google.crypto.tink.HmacKey";

/// The shortest HMAC key Tink accepts, in bytes.
pub const TINK_MIN_KEY_LEN: usize = 16;

/// Names of Tink's `KeyStatusType` values, by number.
const STATUS_NAMES: [&str; 4] = ["UNKNOWN_STATUS", "ENABLED", "DISABLED", "DESTROYED"];
/// Names of Tink's `OutputPrefixType` values, by number.
const PREFIX_NAMES: [&str; 6] = [
    "UNKNOWN_PREFIX",
    "TINK",
    "LEGACY",
    "RAW",
    "CRUNCHY",
    "WITH_ID_REQUIREMENT",
];
/// Names of Tink's `KeyMaterialType` values, by number.
const MATERIAL_NAMES: [&str; 5] = [
    "UNKNOWN_KEYMATERIAL",
    "SYMMETRIC",
    "ASYMMETRIC_PRIVATE",
    "ASYMMETRIC_PUBLIC",
    "REMOTE",
];

/// One key version to write into a keyset.
pub struct KeysetEntry<'a> {
    pub id: NonZeroU32,
    pub key: &'a [u8],
}

/// Writes a cleartext JSON keyset of HMAC keys under `alg` with full-length
/// tags, all enabled with output prefix TINK; `primary` must be one of the
/// entries' ids.
pub fn write_keyset(
    alg: HashAlg,
    primary: NonZeroU32,
    entries: &[KeysetEntry<'_>],
) -> Result<SecretBuffer, Failure> {
    SecretBuffer::build(|out| {
        out.push(&format!("{{\n  \"primaryKeyId\": {primary},\n  \"key\": ["))?;
        for (i, entry) in entries.iter().enumerate() {
            out.push(if i == 0 { "\n" } else { ",\n" })?;
            out.push("    {\n      \"keyData\": {\n        \"typeUrl\": \"")?;
            out.push(HMAC_KEY_TYPE_URL)?;
            out.push("\",\n        \"value\": \"")?;
            out.push_base64(proto::encode_hmac_key(alg, entry.key)?.as_bytes())?;
            out.push("\",\n        \"keyMaterialType\": \"SYMMETRIC\"\n      },\n")?;
            out.push(&format!(
                "      \"status\": \"ENABLED\",\n      \"keyId\": {},\n      \
                 \"outputPrefixType\": \"TINK\"\n    }}",
                entry.id
            ))?;
        }
        out.push("\n  ]\n}\n")
    })
}

/// An HMAC key read from a keyset.
pub struct ImportedKey {
    /// Its key id, which becomes its version number.
    pub id: NonZeroU32,
    /// The hash its parameters name.
    pub alg: HashAlg,
    pub key: Zeroizing<Vec<u8>>,
}

/// The usable keys of a keyset.
pub struct ImportedKeyset {
    /// The primary key's id.
    pub primary: NonZeroU32,
    /// The enabled keys, by ascending id.
    pub keys: Vec<ImportedKey>,
    /// Keys left out (disabled or destroyed): id and status.
    pub skipped: Vec<(u32, String)>,
}

/// Reads a cleartext JSON keyset of HMAC keys with output prefix TINK;
/// refuses any other key type or prefix, naming the key. `label` names
/// the input in messages.
pub fn read_keyset(text: &[u8], label: &str) -> Result<ImportedKeyset, Failure> {
    let fail = |why: String| Failure::invalid(format!("{label}: {why}"));
    let root = json::parse(text).map_err(fail)?;
    if root.get("encryptedKeyset").is_some() {
        return Err(fail(
            "an encrypted keyset: only cleartext keysets can be imported (decrypt it with \
             Tink or tinkey first, and keep the result private)"
                .into(),
        ));
    }
    let primary = match root.get("primaryKeyId") {
        Some(id) => key_id_of(id).map_err(|why| fail(format!("primaryKeyId: {why}")))?,
        None => return Err(fail("not a Tink keyset: no primaryKeyId".into())),
    };
    let Some(Json::Array(entries)) = root.get("key") else {
        return Err(fail("not a Tink keyset: no \"key\" array".into()));
    };
    let mut keyset = ImportedKeyset {
        primary: NonZeroU32::MIN,
        keys: Vec::with_capacity(entries.len()),
        skipped: Vec::new(),
    };
    for (index, entry) in entries.iter().enumerate() {
        let id = match entry.get("keyId").map(key_id_of) {
            Some(Ok(id)) => id,
            Some(Err(why)) => return Err(fail(format!("key #{index}: keyId: {why}"))),
            None => return Err(fail(format!("key #{index} has no keyId"))),
        };
        let in_key = |why: String| fail(format!("key id {id}: {why}"));
        match read_key(entry, id).map_err(in_key)? {
            Ok(key) => keyset.keys.push(key),
            Err(status) => keyset.skipped.push((id, status)),
        }
    }
    finish_keyset(keyset, primary).map_err(fail)
}

/// Checks the keys read against each other and the primary id, and sorts
/// them by id.
fn finish_keyset(mut keyset: ImportedKeyset, primary: u32) -> Result<ImportedKeyset, String> {
    keyset.keys.sort_by_key(|key| key.id);
    if let Some(pair) = keyset.keys.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(format!("key id {} appears twice", pair[0].id));
    }
    if keyset.keys.is_empty() {
        return Err("the keyset has no enabled key".into());
    }
    match keyset.keys.iter().find(|key| key.id.get() == primary) {
        Some(key) => keyset.primary = key.id,
        None => {
            return Err(format!(
                "the primary key id {primary} is not an enabled key"
            ));
        }
    }
    Ok(keyset)
}

/// One entry of the `key` array: `Ok(Ok(key))` for an enabled HMAC key,
/// `Ok(Err(status))` for a disabled or destroyed one, which is left out.
fn read_key(entry: &Json, id: u32) -> Result<Result<ImportedKey, String>, String> {
    let status = enum_field(entry, "status", &STATUS_NAMES)?;
    match status.as_str() {
        "ENABLED" => {}
        "DISABLED" | "DESTROYED" => return Ok(Err(status)),
        other => return Err(format!("unknown status {other}")),
    }
    let Some(data) = entry.get("keyData") else {
        return Err("no keyData".into());
    };
    let type_url = string_field(data, "typeUrl")?;
    if type_url != HMAC_KEY_TYPE_URL {
        return Err(format!(
            "a {} key; only HMAC keys ({HMAC_KEY_TYPE_URL}) can be imported",
            type_url.escape_debug()
        ));
    }
    let prefix = enum_field(entry, "outputPrefixType", &PREFIX_NAMES)?;
    if prefix != "TINK" {
        return Err(format!(
            "output prefix {prefix}; only keys with output prefix TINK make the tags this \
             store verifies (0x01 || key id || HMAC)"
        ));
    }
    if data.get("keyMaterialType").is_some() {
        let material = enum_field(data, "keyMaterialType", &MATERIAL_NAMES)?;
        if material != "SYMMETRIC" {
            return Err(format!("key material {material}, not SYMMETRIC"));
        }
    }
    let Some(Json::String(value)) = data.get("value") else {
        return Err("keyData has no string value".into());
    };
    let serialized = decode_base64(value, "keyData.value").map_err(|f| f.message)?;
    let message = proto::decode_hmac_key(&serialized).map_err(|why| format!("HmacKey: {why}"))?;
    let alg = checked_alg(&message)?;
    let id = NonZeroU32::new(id).ok_or("key id 0 cannot be a version number")?;
    Ok(Ok(ImportedKey {
        id,
        alg,
        key: message.key_value,
    }))
}

/// The algorithm of a decoded `HmacKey`, after checking what this store
/// can use: a supported hash, full-length tags, a key of 1 to 64 KiB.
fn checked_alg(message: &proto::HmacKeyMessage) -> Result<HashAlg, String> {
    if message.version != 0 {
        return Err(format!(
            "HmacKey version {} (only 0 exists)",
            message.version
        ));
    }
    let alg = proto::alg_of_hash_type(message.hash)
        .map_err(|name| format!("HMAC with {name}; this store supports SHA256, SHA384, SHA512"))?;
    if message.tag_size != alg.digest_len() as u64 {
        return Err(format!(
            "tags truncated to {} bytes; this store makes and checks only full-length \
             HMAC-{} tags ({} bytes)",
            message.tag_size,
            alg.name().to_ascii_uppercase(),
            alg.digest_len()
        ));
    }
    if !(1..=MAX_KEY_LEN).contains(&message.key_value.len()) {
        return Err(format!(
            "a key of {} bytes; keys are 1 to {MAX_KEY_LEN} bytes",
            message.key_value.len()
        ));
    }
    Ok(alg)
}

/// A key id: a JSON number or numeric string, 0 to 2^32 - 1, or a negative
/// number down to -2^31 read as the same 32 bits.
fn key_id_of(value: &Json) -> Result<u32, String> {
    let text = match value {
        Json::Number(text) => text.as_str(),
        Json::String(bytes) => std::str::from_utf8(bytes).unwrap_or(""),
        other => return Err(format!("{} instead of a number", other.kind())),
    };
    match text.parse::<i64>() {
        Ok(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(n as u32),
        Ok(n) if (i64::from(i32::MIN)..0).contains(&n) => Ok(n as i32 as u32),
        _ => Err(format!("{} is not a 32-bit key id", text.escape_debug())),
    }
}

/// A string member of an object.
fn string_field<'a>(object: &'a Json, name: &str) -> Result<&'a str, String> {
    match object.get(name) {
        Some(Json::String(bytes)) => Ok(std::str::from_utf8(bytes).unwrap_or("")),
        Some(other) => Err(format!("{name} is {}, not a string", other.kind())),
        None => Err(format!("no {name}")),
    }
}

/// An enum member, written by name or by number, as its name.
fn enum_field(object: &Json, name: &str, names: &[&str]) -> Result<String, String> {
    match object.get(name) {
        Some(Json::String(_)) => string_field(object, name).map(|s| s.escape_debug().to_string()),
        Some(Json::Number(text)) => Ok(text
            .parse::<usize>()
            .ok()
            .and_then(|n| names.get(n))
            .map_or_else(|| format!("value {text}"), |name| (*name).to_string())),
        Some(other) => Err(format!("{name} is {}", other.kind())),
        None => Err(format!("no {name}")),
    }
}
