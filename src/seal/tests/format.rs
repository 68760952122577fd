//! The sealed-file format: known answers, round trips, tampering, moved
//! files, missing and wrong KEKs.

use super::{expect_error, hex, unhex};
use crate::error::ErrorKind;
use crate::seal::{
    Kek, MAGIC, MAX_PAYLOAD_LEN, MAX_SEALED_LEN, decrypt, encrypt, is_sealed, seal,
    seal_with_nonce, sealed_overhead, unseal,
};
use crate::store::MAX_KEY_ID_LEN;
use proptest::prelude::*;

/// The format's test vector (also in SECURITY.md, "Sealed files"): KEK, nonce
/// and key bytes; the key is sealed as key "api" version 3.
pub(super) const VECTOR_KEK: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const VECTOR_NONCE: &str = "404142434445464748494a4b4c4d4e4f5051525354555657";
const VECTOR_KEY: &str = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
/// The KEK id of [`VECTOR_KEK`].
pub(super) const VECTOR_KEK_ID: &str = "dd58983abbae3438";
/// The sealed file. Built independently from the format description with
/// Python's `hmac` and libsodium's XChaCha20-Poly1305 (through PyNaCl), it
/// gave the same bytes.
const VECTOR_FILE: &str = "
    894344585345414c 01 01 dd58983abbae3438 03 617069 00000003
    404142434445464748494a4b4c4d4e4f5051525354555657
    14f8c7b31425bfd1473d4d756351ab5d426b7f17c78c854db2e8279ed5d9fd4f
    7dd8f5c56736b485ee9323433a0fa0e5";

pub(super) fn vector_kek() -> Kek {
    Kek::from_bytes(&unhex(VECTOR_KEK)).unwrap()
}

fn vector_file() -> Vec<u8> {
    let nonce: [u8; 24] = unhex(VECTOR_NONCE).try_into().unwrap();
    seal_with_nonce(&vector_kek(), "api", 3, &unhex(VECTOR_KEY), &nonce).unwrap()
}

/// A KEK other than the vector's.
fn other_kek() -> Kek {
    Kek::from_bytes(&[0x5a; 32]).unwrap()
}

#[test]
fn known_answer_vector() {
    let file = vector_file();
    assert_eq!(hex(&file), hex(&unhex(VECTOR_FILE)));
    assert_eq!(file.len(), sealed_overhead(3) + 32);
    assert_eq!(vector_kek().id().to_string(), VECTOR_KEK_ID);
    let key = unseal(Some(&vector_kek()), "api", 3, &file).unwrap();
    assert_eq!(key.as_bytes(), unhex(VECTOR_KEY));
}

/// draft-irtf-cfrg-xchacha-03, Appendix A.3.1, through the same functions
/// sealing uses: the AEAD is XChaCha20-Poly1305 itself, not only
/// consistent with itself.
#[test]
fn aead_matches_the_xchacha20_poly1305_draft_vector() {
    let kek = Kek::from_bytes(&unhex(
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    ))
    .unwrap();
    let nonce: [u8; 24] = unhex("404142434445464748494a4b4c4d4e4f5051525354555657")
        .try_into()
        .unwrap();
    let aad = unhex("50515253c0c1c2c3c4c5c6c7");
    let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you \
only one tip for the future, sunscreen would be it.";
    let mut buffer = plaintext.to_vec();
    let tag = encrypt(&kek, &nonce, &aad, &mut buffer).unwrap();
    assert_eq!(
        hex(&buffer),
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
         731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
         2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
         21f9664c97637da9768812f615c68b13b52e"
    );
    assert_eq!(hex(&tag), "c0875924c1c7987947deafd8780acf49");
    decrypt(&kek, &nonce, &aad, &mut buffer, &tag).unwrap();
    assert_eq!(buffer, plaintext);
}

#[test]
fn sealing_round_trips_with_a_fresh_nonce_each_time() {
    let kek = vector_kek();
    let key = b"\x00\x01 a key of 37 bytes, not a multiple!";
    let first = seal(&kek, "billing.v2", 7, key).unwrap();
    let second = seal(&kek, "billing.v2", 7, key).unwrap();
    assert_ne!(first, second, "two seals used the same nonce");
    assert_eq!(first.len(), sealed_overhead("billing.v2".len()) + key.len());
    for file in [&first, &second] {
        assert!(is_sealed(file));
        let opened = unseal(Some(&kek), "billing.v2", 7, file).unwrap();
        assert_eq!(opened.as_bytes(), key);
        // The key id is in the clear, the key is not.
        assert!(file.windows(10).any(|w| w == b"billing.v2"));
        assert!(!file.windows(8).any(|w| key.windows(8).any(|k| k == w)));
    }
}

/// Every single-bit change at every position (two bits tried per byte),
/// every truncation and an appended byte: always `Corrupt`, never a key.
#[test]
fn any_change_to_a_sealed_file_is_corrupt() {
    let kek = vector_kek();
    let file = vector_file();
    let key_hex = VECTOR_KEY;
    let mut variants = Vec::new();
    for position in 0..file.len() {
        for bit in [0x01, 0x80] {
            let mut altered = file.clone();
            altered[position] ^= bit;
            variants.push(altered);
        }
    }
    variants.extend((0..file.len()).map(|len| file[..len].to_vec()));
    variants.push([file.as_slice(), &[0]].concat());
    assert_eq!(variants.len(), 3 * file.len() + 1);
    for altered in &variants {
        let message = expect_error(
            unseal(Some(&kek), "api", 3, altered),
            ErrorKind::Corrupt,
            "",
        );
        assert!(!message.contains(key_hex), "{message}");
    }
}

#[test]
fn a_file_moved_to_another_key_or_version_is_sealed_for_another_key() {
    let kek = vector_kek();
    let file = vector_file();
    let message = expect_error(
        unseal(Some(&kek), "web", 3, &file),
        ErrorKind::Corrupt,
        "sealed for another key",
    );
    assert_eq!(
        message,
        "key 'web' version 3: sealed for another key (the file holds key 'api' version 3)"
    );
    for version in [1, 2, 4, u32::MAX] {
        expect_error(
            unseal(Some(&kek), "api", version, &file),
            ErrorKind::Corrupt,
            "sealed for another key (the file holds key 'api' version 3)",
        );
    }
    // Rewriting the version in the header as well is caught by the AEAD:
    // the header is the associated data.
    let mut relabelled = file.clone();
    // The version's last byte: offset 19, the 3-byte id, then 3 bytes.
    relabelled[19 + 3 + 3] = 4;
    expect_error(
        unseal(Some(&kek), "api", 4, &relabelled),
        ErrorKind::Corrupt,
        "failed authentication",
    );
}

#[test]
fn a_missing_or_wrong_kek_is_named_by_id() {
    let file = vector_file();
    let message = expect_error(
        unseal(None, "api", 3, &file),
        ErrorKind::Corrupt,
        VECTOR_KEK_ID,
    );
    assert_eq!(
        message,
        "key 'api' version 3: sealed under KEK dd58983abbae3438, and no KEK was given; \
         open the key store with KEK dd58983abbae3438"
    );
    let other = other_kek();
    let message = expect_error(
        unseal(Some(&other), "api", 3, &file),
        ErrorKind::Corrupt,
        VECTOR_KEK_ID,
    );
    assert!(
        message.contains(&format!("the KEK given is {}", other.id())),
        "{message}"
    );
}

#[test]
fn unknown_format_versions_and_aeads_are_named() {
    let kek = vector_kek();
    let mut file = vector_file();
    file[8] = 2;
    expect_error(
        unseal(Some(&kek), "api", 3, &file),
        ErrorKind::Corrupt,
        "format version 2",
    );
    let mut file = vector_file();
    file[9] = 7;
    expect_error(
        unseal(Some(&kek), "api", 3, &file),
        ErrorKind::Corrupt,
        "AEAD 7",
    );
    expect_error(
        unseal(Some(&kek), "api", 3, &MAGIC),
        ErrorKind::Corrupt,
        "truncated",
    );
    let raw_key = [0x42; 32];
    expect_error(
        unseal(Some(&kek), "api", 3, &raw_key),
        ErrorKind::Corrupt,
        "not a sealed file",
    );
}

#[test]
fn is_sealed_checks_the_whole_magic() {
    assert!(is_sealed(&vector_file()));
    assert!(is_sealed(&MAGIC));
    assert!(!is_sealed(&MAGIC[..7]));
    assert!(!is_sealed(b""));
    assert!(!is_sealed(b"a plain key written by the Python module"));
    for position in 0..MAGIC.len() {
        let mut almost = MAGIC;
        almost[position] ^= 0x01;
        assert!(!is_sealed(&almost));
    }
}

/// A raw key that happens to start with the magic (chance 2^-64 for a
/// random key) is refused, never returned as some other key.
#[test]
fn a_raw_key_starting_with_the_magic_is_refused() {
    let raw = [MAGIC.as_slice(), &[0x11; 56]].concat();
    assert!(is_sealed(&raw));
    expect_error(
        unseal(Some(&vector_kek()), "api", 3, &raw),
        ErrorKind::Corrupt,
        "",
    );
}

#[test]
fn seal_refuses_bad_arguments() {
    let kek = vector_kek();
    expect_error(seal(&kek, "../x", 1, b"k"), ErrorKind::InvalidKeyId, "");
    expect_error(seal(&kek, "", 1, b"k"), ErrorKind::InvalidKeyId, "");
    expect_error(
        seal(&kek, "k", 0, b"k"),
        ErrorKind::InvalidArgument,
        "version 0",
    );
    expect_error(
        seal(&kek, "k", 1, b""),
        ErrorKind::InvalidArgument,
        "0 bytes",
    );
    let too_long = vec![7; MAX_PAYLOAD_LEN + 1];
    expect_error(
        seal(&kek, "k", 1, &too_long),
        ErrorKind::InvalidArgument,
        "65601 bytes",
    );
}

#[test]
fn the_largest_sealed_file_is_accepted_and_one_byte_more_is_not() {
    let kek = vector_kek();
    let longest_id = "k".repeat(MAX_KEY_ID_LEN);
    let key = vec![0xee; MAX_PAYLOAD_LEN];
    let file = seal(&kek, &longest_id, u32::MAX, &key).unwrap();
    assert_eq!(file.len(), MAX_SEALED_LEN);
    let opened = unseal(Some(&kek), &longest_id, u32::MAX, &file).unwrap();
    assert_eq!(opened.as_bytes(), key);
    let longer = [file.as_slice(), &[0]].concat();
    expect_error(
        unseal(Some(&kek), &longest_id, u32::MAX, &longer),
        ErrorKind::Corrupt,
        "over the limit",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes after the magic and a valid format and AEAD byte:
    /// no panic, and never a key.
    #[test]
    fn arbitrary_files_never_unseal(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let file = [MAGIC.as_slice(), &[1, 1], &tail].concat();
        let result = unseal(Some(&vector_kek()), "api", 3, &file);
        prop_assert_eq!(result.map_err(|e| e.kind()).err(), Some(ErrorKind::Corrupt));
    }
}
