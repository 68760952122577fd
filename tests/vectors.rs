//! Known-answer tests: RFC 4231 (HMAC-SHA-2), RFC 5869 (HKDF-SHA-256) and
//! the Wycheproof HMAC and HKDF vectors, through the safe API and through
//! the C functions called directly.

mod common;

use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_finish, codomyrmex_hmac_finish_verify, codomyrmex_hmac_free,
    codomyrmex_hmac_new, codomyrmex_hmac_update, codomyrmex_hmac_verify,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{
    ErrorKind, HashAlg, HmacStream, MAX_DIGEST_LEN, hkdf_derive, hkdf_expand, hkdf_extract, hmac,
    hmac_verify,
};
use common::ffi::c_hmac;
use common::{hex, to_hex};
use serde_json::Value;
use std::path::Path;
use std::ptr;

// ---------------------------------------------------------------------------
// Thin wrappers over the C functions (inputs never NULL here; the NULL
// conventions are covered by tests/ffi.rs).

fn c_hmac_verify(alg: HashAlg, key: &[u8], data: &[u8], mac: &[u8]) -> codomyrmex_status {
    // SAFETY: every pointer is valid for the length passed with it.
    unsafe {
        codomyrmex_hmac_verify(
            alg.value(),
            key.as_ptr(),
            key.len(),
            data.as_ptr(),
            data.len(),
            mac.as_ptr(),
            mac.len(),
        )
    }
}

/// The MAC of `data` fed to a C stream in pieces of `chunk` bytes, checked
/// with `finish_verify` on a second pass over the same stream.
fn c_stream_hmac(alg: HashAlg, key: &[u8], data: &[u8], chunk: usize) -> Vec<u8> {
    let mut ctx: *mut codomyrmex_hmac = ptr::null_mut();
    // SAFETY: valid pointers; the stream is freed below and used by this
    // thread only.
    unsafe {
        assert_eq!(
            codomyrmex_hmac_new(alg.value(), key.as_ptr(), key.len(), &mut ctx),
            CODOMYRMEX_OK
        );
        assert!(!ctx.is_null());
        for piece in data.chunks(chunk.max(1)) {
            assert_eq!(
                codomyrmex_hmac_update(ctx, piece.as_ptr(), piece.len()),
                CODOMYRMEX_OK
            );
        }
        let mut out = [0u8; MAX_DIGEST_LEN];
        let mut len = 0usize;
        assert_eq!(
            codomyrmex_hmac_finish(ctx, out.as_mut_ptr(), out.len(), &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, alg.digest_len());
        for piece in data.chunks(chunk.max(1)) {
            assert_eq!(
                codomyrmex_hmac_update(ctx, piece.as_ptr(), piece.len()),
                CODOMYRMEX_OK
            );
        }
        assert_eq!(
            codomyrmex_hmac_finish_verify(ctx, out.as_ptr(), len),
            CODOMYRMEX_OK
        );
        codomyrmex_hmac_free(ctx);
        out[..len].to_vec()
    }
}

fn c_hkdf_derive(
    alg: HashAlg,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> codomyrmex_status {
    // SAFETY: every pointer is valid for the length passed with it.
    unsafe {
        codomyrmex_hkdf_derive(
            alg.value(),
            ikm.as_ptr(),
            ikm.len(),
            salt.as_ptr(),
            salt.len(),
            info.as_ptr(),
            info.len(),
            okm.as_mut_ptr(),
            okm.len(),
        )
    }
}

fn c_hkdf_extract(alg: HashAlg, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    let mut prk = [0u8; MAX_DIGEST_LEN];
    let mut len = usize::MAX;
    // SAFETY: every pointer is valid for the length passed with it.
    let status = unsafe {
        codomyrmex_hkdf_extract(
            alg.value(),
            salt.as_ptr(),
            salt.len(),
            ikm.as_ptr(),
            ikm.len(),
            prk.as_mut_ptr(),
            prk.len(),
            &mut len,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK, "codomyrmex_hkdf_extract");
    assert_eq!(len, alg.digest_len());
    prk[..len].to_vec()
}

fn c_hkdf_expand(alg: HashAlg, prk: &[u8], info: &[u8], okm: &mut [u8]) -> codomyrmex_status {
    // SAFETY: every pointer is valid for the length passed with it.
    unsafe {
        codomyrmex_hkdf_expand(
            alg.value(),
            prk.as_ptr(),
            prk.len(),
            info.as_ptr(),
            info.len(),
            okm.as_mut_ptr(),
            okm.len(),
        )
    }
}

/// The MAC from the safe streaming API, fed in pieces of `chunk` bytes.
fn stream_hmac(alg: HashAlg, key: &[u8], data: &[u8], chunk: usize) -> Vec<u8> {
    let mut stream = HmacStream::new(alg, key);
    for piece in data.chunks(chunk.max(1)) {
        stream.update(piece);
    }
    stream.finish().as_bytes().to_vec()
}

// ---------------------------------------------------------------------------
// RFC 4231: HMAC-SHA-256/384/512.

struct Rfc4231Case {
    number: u32,
    key: Vec<u8>,
    data: Vec<u8>,
    /// Expected HMAC-SHA-256, -384, -512 (case 5: the leftmost 128 bits).
    expected: [&'static str; 3],
    truncated_to_128_bits: bool,
}

fn rfc4231_cases() -> Vec<Rfc4231Case> {
    vec![
        Rfc4231Case {
            number: 1,
            key: vec![0x0b; 20],
            data: b"Hi There".to_vec(),
            expected: [
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
                 faea9ea9076ede7f4af152e8b2fa9cb6",
                "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
                 daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
            ],
            truncated_to_128_bits: false,
        },
        Rfc4231Case {
            number: 2,
            key: b"Jefe".to_vec(),
            data: b"what do ya want for nothing?".to_vec(),
            expected: [
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ],
            truncated_to_128_bits: false,
        },
        Rfc4231Case {
            number: 3,
            key: vec![0xaa; 20],
            data: vec![0xdd; 50],
            expected: [
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
                "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b\
                 2a5ab39dc13814b94e3ab6e101a34f27",
                "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39\
                 bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
            ],
            truncated_to_128_bits: false,
        },
        Rfc4231Case {
            number: 4,
            key: (0x01..=0x19).collect(),
            data: vec![0xcd; 50],
            expected: [
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
                "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e\
                 6801dd23c4a7d679ccf8a386c674cffb",
                "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db\
                 a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
            ],
            truncated_to_128_bits: false,
        },
        Rfc4231Case {
            number: 5,
            key: vec![0x0c; 20],
            data: b"Test With Truncation".to_vec(),
            expected: [
                "a3b6167473100ee06e0c796c2955552b",
                "3abf34c3503b2a23a46efc619baef897",
                "415fad6271580a531d4179bc891d87a6",
            ],
            truncated_to_128_bits: true,
        },
        Rfc4231Case {
            number: 6,
            key: vec![0xaa; 131],
            data: b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            expected: [
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
                "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
                 0c2ef6ab4030fe8296248df163f44952",
                "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
                 6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
            ],
            truncated_to_128_bits: false,
        },
        Rfc4231Case {
            number: 7,
            key: vec![0xaa; 131],
            data: b"This is a test using a larger than block-size key and a larger \
                    than block-size data. The key needs to be hashed before being \
                    used by the HMAC algorithm."
                .to_vec(),
            expected: [
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
                "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5\
                 a678cc31e799176d3860e6110c46523e",
                "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944\
                 b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
            ],
            truncated_to_128_bits: false,
        },
    ]
}

#[test]
fn rfc4231_through_the_safe_api() {
    let cases = rfc4231_cases();
    assert_eq!(cases.len(), 7);
    for case in &cases {
        for (alg, expected) in HashAlg::ALL.into_iter().zip(case.expected) {
            let what = format!("RFC 4231 case {} {alg}", case.number);
            let expected = hex(expected);
            let mac = hmac(alg, &case.key, &case.data);
            assert_eq!(mac.len(), alg.digest_len(), "{what}");
            if case.truncated_to_128_bits {
                assert_eq!(expected.len(), 16, "{what}");
                assert_eq!(to_hex(&mac.as_bytes()[..16]), to_hex(&expected), "{what}");
                // A truncated MAC never verifies, even a correct prefix.
                let err = hmac_verify(alg, &case.key, &case.data, &expected).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::VerifyFailed, "{what}");
            } else {
                assert_eq!(to_hex(mac.as_bytes()), to_hex(&expected), "{what}");
                hmac_verify(alg, &case.key, &case.data, &expected)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            hmac_verify(alg, &case.key, &case.data, mac.as_bytes())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            for chunk in [1, 7, 64, 128, 1000] {
                assert_eq!(
                    stream_hmac(alg, &case.key, &case.data, chunk),
                    mac.as_bytes(),
                    "{what}, stream in chunks of {chunk}"
                );
            }
        }
    }
}

#[test]
fn rfc4231_through_the_c_functions() {
    for case in &rfc4231_cases() {
        for (alg, expected) in HashAlg::ALL.into_iter().zip(case.expected) {
            let what = format!("RFC 4231 case {} {alg}", case.number);
            let expected = hex(expected);
            let mac = c_hmac(alg.value(), &case.key, &case.data);
            if case.truncated_to_128_bits {
                assert_eq!(to_hex(&mac[..16]), to_hex(&expected), "{what}");
                assert_eq!(
                    c_hmac_verify(alg, &case.key, &case.data, &expected),
                    CODOMYRMEX_ERR_VERIFY_FAILED,
                    "{what}: a 128-bit prefix must not verify"
                );
            } else {
                assert_eq!(to_hex(&mac), to_hex(&expected), "{what}");
            }
            assert_eq!(
                c_hmac_verify(alg, &case.key, &case.data, &mac),
                CODOMYRMEX_OK,
                "{what}"
            );
            for chunk in [1, 13, 64, 1000] {
                assert_eq!(
                    c_stream_hmac(alg, &case.key, &case.data, chunk),
                    mac,
                    "{what}, C stream in chunks of {chunk}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// RFC 5869: HKDF-SHA-256 (cases 1-3; cases 4-7 use SHA-1).

struct Rfc5869Case {
    number: u32,
    ikm: Vec<u8>,
    salt: Vec<u8>,
    info: Vec<u8>,
    prk: &'static str,
    okm: &'static str,
}

fn rfc5869_cases() -> Vec<Rfc5869Case> {
    vec![
        Rfc5869Case {
            number: 1,
            ikm: vec![0x0b; 22],
            salt: (0x00..=0x0c).collect(),
            info: (0xf0..=0xf9).collect(),
            prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
            okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                  34007208d5b887185865",
        },
        Rfc5869Case {
            number: 2,
            ikm: (0x00..=0x4f).collect(),
            salt: (0x60..=0xaf).collect(),
            info: (0xb0..=0xff).collect(),
            prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
            okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
                  59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
                  cc30c58179ec3e87c14c01d5c1f3434f1d87",
        },
        Rfc5869Case {
            number: 3,
            ikm: vec![0x0b; 22],
            salt: Vec::new(),
            info: Vec::new(),
            prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
            okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                  9d201395faa4b61a96c8",
        },
    ]
}

#[test]
fn rfc5869_through_the_safe_api() {
    let alg = HashAlg::Sha256;
    for case in &rfc5869_cases() {
        let what = format!("RFC 5869 case {}", case.number);
        let (prk, okm) = (hex(case.prk), hex(case.okm));

        let got_prk = hkdf_extract(alg, &case.salt, &case.ikm);
        assert_eq!(to_hex(got_prk.as_bytes()), to_hex(&prk), "{what}: PRK");

        let mut out = vec![0u8; okm.len()];
        hkdf_expand(alg, got_prk.as_bytes(), &case.info, &mut out).unwrap();
        assert_eq!(to_hex(&out), to_hex(&okm), "{what}: expand");

        let mut out = vec![0u8; okm.len()];
        hkdf_derive(alg, &case.ikm, &case.salt, &case.info, &mut out).unwrap();
        assert_eq!(to_hex(&out), to_hex(&okm), "{what}: derive");

        // HKDF output is a prefix-stable stream: a shorter request gives the
        // leading bytes of the longer one.
        let mut short = vec![0u8; 5];
        hkdf_derive(alg, &case.ikm, &case.salt, &case.info, &mut short).unwrap();
        assert_eq!(short, okm[..5], "{what}: prefix");
    }
    // Case 3 has no salt: that is HashLen zero bytes.
    let case = &rfc5869_cases()[2];
    let zeros = hkdf_extract(alg, &[0u8; 32], &case.ikm);
    assert_eq!(to_hex(zeros.as_bytes()), case.prk);
}

#[test]
fn rfc5869_through_the_c_functions() {
    let alg = HashAlg::Sha256;
    for case in &rfc5869_cases() {
        let what = format!("RFC 5869 case {}", case.number);
        let (prk, okm) = (hex(case.prk), hex(case.okm));

        assert_eq!(
            to_hex(&c_hkdf_extract(alg, &case.salt, &case.ikm)),
            to_hex(&prk),
            "{what}: PRK"
        );

        let mut out = vec![0u8; okm.len()];
        assert_eq!(
            c_hkdf_expand(alg, &prk, &case.info, &mut out),
            CODOMYRMEX_OK
        );
        assert_eq!(to_hex(&out), to_hex(&okm), "{what}: expand");

        let mut out = vec![0u8; okm.len()];
        assert_eq!(
            c_hkdf_derive(alg, &case.ikm, &case.salt, &case.info, &mut out),
            CODOMYRMEX_OK
        );
        assert_eq!(to_hex(&out), to_hex(&okm), "{what}: derive");
    }
    // (NULL, 0) salt and info are "no salt" and "no info".
    let case = &rfc5869_cases()[2];
    let mut out = vec![0u8; 42];
    // SAFETY: ikm and okm are valid for their lengths; the NULL pointers come
    // with length 0.
    let status = unsafe {
        codomyrmex_hkdf_derive(
            alg.value(),
            case.ikm.as_ptr(),
            case.ikm.len(),
            ptr::null(),
            0,
            ptr::null(),
            0,
            out.as_mut_ptr(),
            out.len(),
        )
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!(to_hex(&out), case.okm);
}

// ---------------------------------------------------------------------------
// Wycheproof.

fn load_wycheproof(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wycheproof")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"))
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    value
        .get(name)
        .unwrap_or_else(|| panic!("missing field {name:?} in {value}"))
}

fn str_field<'a>(value: &'a Value, name: &str) -> &'a str {
    field(value, name)
        .as_str()
        .unwrap_or_else(|| panic!("field {name:?} is not a string"))
}

fn usize_field(value: &Value, name: &str) -> usize {
    let n = field(value, name)
        .as_u64()
        .unwrap_or_else(|| panic!("field {name:?} is not an unsigned integer"));
    usize::try_from(n).unwrap()
}

fn has_flag(test: &Value, flag: &str) -> bool {
    field(test, "flags")
        .as_array()
        .expect("flags is an array")
        .iter()
        .any(|f| f.as_str() == Some(flag))
}

/// Valid, invalid and total vectors seen in a file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    valid: usize,
    invalid: usize,
}

fn check_wycheproof_hmac(file: &str, alg: HashAlg, algorithm_name: &str) -> Counts {
    let doc = load_wycheproof(file);
    assert_eq!(str_field(&doc, "algorithm"), algorithm_name);
    assert_eq!(str_field(&doc, "schema"), "mac_test_schema_v1.json");
    let mut counts = Counts::default();
    let mut full = 0;
    let mut truncated = 0;
    for group in field(&doc, "testGroups").as_array().unwrap() {
        let key_bits = usize_field(group, "keySize");
        let tag_bits = usize_field(group, "tagSize");
        assert!(tag_bits.is_multiple_of(8));
        let tag_len = tag_bits / 8;
        assert!(tag_len <= alg.digest_len());
        for test in field(group, "tests").as_array().unwrap() {
            let id = usize_field(test, "tcId");
            let what = format!("{file} tcId {id}");
            let key = hex(str_field(test, "key"));
            let msg = hex(str_field(test, "msg"));
            let tag = hex(str_field(test, "tag"));
            assert_eq!(key.len() * 8, key_bits, "{what}: keySize");
            assert_eq!(tag.len(), tag_len, "{what}: tagSize");

            let mac = hmac(alg, &key, &msg);
            let mac = mac.as_bytes();
            assert_eq!(mac.len(), alg.digest_len(), "{what}");
            assert_eq!(
                c_hmac(alg.value(), &key, &msg),
                mac,
                "{what}: C differs from Rust"
            );
            assert_eq!(stream_hmac(alg, &key, &msg, 17), mac, "{what}: stream");
            let prefix_matches = mac[..tag_len] == tag[..];

            let safe_verify = hmac_verify(alg, &key, &msg, &tag);
            let c_verify = c_hmac_verify(alg, &key, &msg, &tag);
            let mut stream = HmacStream::new(alg, &key);
            stream.update(&msg);
            let stream_verify = stream.finish_verify(&tag);

            match str_field(test, "result") {
                "valid" => {
                    counts.valid += 1;
                    assert!(
                        prefix_matches,
                        "{what}: computed {} but expected tag {}",
                        to_hex(&mac[..tag_len]),
                        to_hex(&tag)
                    );
                    if tag_len == alg.digest_len() {
                        full += 1;
                        safe_verify.unwrap_or_else(|e| panic!("{what}: {e}"));
                        assert_eq!(c_verify, CODOMYRMEX_OK, "{what}");
                        stream_verify.unwrap_or_else(|e| panic!("{what}: {e}"));
                    } else {
                        truncated += 1;
                        // A prefix of the right MAC never verifies.
                        assert_eq!(
                            safe_verify.unwrap_err().kind(),
                            ErrorKind::VerifyFailed,
                            "{what}"
                        );
                        assert_eq!(c_verify, CODOMYRMEX_ERR_VERIFY_FAILED, "{what}");
                        assert_eq!(
                            stream_verify.unwrap_err().kind(),
                            ErrorKind::VerifyFailed,
                            "{what}"
                        );
                        // The full MAC does verify.
                        hmac_verify(alg, &key, &msg, mac).unwrap();
                    }
                }
                "invalid" => {
                    counts.invalid += 1;
                    assert!(has_flag(test, "ModifiedTag"), "{what}: unexpected flags");
                    assert!(!prefix_matches, "{what}: a modified tag equals the MAC");
                    assert_eq!(
                        safe_verify.unwrap_err().kind(),
                        ErrorKind::VerifyFailed,
                        "{what}"
                    );
                    assert_eq!(c_verify, CODOMYRMEX_ERR_VERIFY_FAILED, "{what}");
                    assert_eq!(
                        stream_verify.unwrap_err().kind(),
                        ErrorKind::VerifyFailed,
                        "{what}"
                    );
                }
                other => panic!("{what}: unexpected result {other:?}"),
            }
        }
    }
    assert_eq!(
        counts.valid + counts.invalid,
        usize_field(&doc, "numberOfTests"),
        "{file}: every vector must be processed"
    );
    assert!(
        full > 0 && truncated > 0,
        "{file}: both full-size and truncated tags are expected"
    );
    counts
}

fn check_wycheproof_hkdf(file: &str, alg: HashAlg, algorithm_name: &str) -> Counts {
    let doc = load_wycheproof(file);
    assert_eq!(str_field(&doc, "algorithm"), algorithm_name);
    assert_eq!(str_field(&doc, "schema"), "hkdf_test_schema_v1.json");
    let max = 255 * alg.digest_len();
    let mut counts = Counts::default();
    for group in field(&doc, "testGroups").as_array().unwrap() {
        let key_bits = usize_field(group, "keySize");
        for test in field(group, "tests").as_array().unwrap() {
            let id = usize_field(test, "tcId");
            let what = format!("{file} tcId {id}");
            let ikm = hex(str_field(test, "ikm"));
            let salt = hex(str_field(test, "salt"));
            let info = hex(str_field(test, "info"));
            let okm = hex(str_field(test, "okm"));
            let size = usize_field(test, "size");
            assert_eq!(ikm.len() * 8, key_bits, "{what}: keySize");
            match str_field(test, "result") {
                "valid" => {
                    counts.valid += 1;
                    assert_eq!(okm.len(), size, "{what}: size");

                    let mut out = vec![0u8; size];
                    hkdf_derive(alg, &ikm, &salt, &info, &mut out)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(to_hex(&out), to_hex(&okm), "{what}: derive");

                    let prk = hkdf_extract(alg, &salt, &ikm);
                    let mut out = vec![0u8; size];
                    hkdf_expand(alg, prk.as_bytes(), &info, &mut out)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(to_hex(&out), to_hex(&okm), "{what}: extract+expand");

                    let mut out = vec![0u8; size];
                    assert_eq!(
                        c_hkdf_derive(alg, &ikm, &salt, &info, &mut out),
                        CODOMYRMEX_OK,
                        "{what}"
                    );
                    assert_eq!(to_hex(&out), to_hex(&okm), "{what}: C derive");

                    let c_prk = c_hkdf_extract(alg, &salt, &ikm);
                    assert_eq!(c_prk, prk.as_bytes(), "{what}: C extract");
                    let mut out = vec![0u8; size];
                    assert_eq!(
                        c_hkdf_expand(alg, &c_prk, &info, &mut out),
                        CODOMYRMEX_OK,
                        "{what}"
                    );
                    assert_eq!(to_hex(&out), to_hex(&okm), "{what}: C expand");
                }
                "invalid" => {
                    counts.invalid += 1;
                    assert!(has_flag(test, "SizeTooLarge"), "{what}: unexpected flags");
                    assert_eq!(size, max + 1, "{what}");
                    assert!(okm.is_empty(), "{what}");
                    const FILL: u8 = 0xA5;

                    let mut out = vec![FILL; size];
                    let err = hkdf_derive(alg, &ikm, &salt, &info, &mut out).unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}");
                    assert!(out.iter().all(|&b| b == FILL), "{what}: output touched");

                    let prk = hkdf_extract(alg, &salt, &ikm);
                    let err = hkdf_expand(alg, prk.as_bytes(), &info, &mut out).unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}");
                    assert!(out.iter().all(|&b| b == FILL), "{what}: output touched");

                    assert_eq!(
                        c_hkdf_derive(alg, &ikm, &salt, &info, &mut out),
                        CODOMYRMEX_ERR_INVALID_ARGUMENT,
                        "{what}"
                    );
                    assert!(out.iter().all(|&b| b == FILL), "{what}: C output touched");
                    assert_eq!(
                        c_hkdf_expand(alg, prk.as_bytes(), &info, &mut out),
                        CODOMYRMEX_ERR_INVALID_ARGUMENT,
                        "{what}"
                    );
                    assert!(out.iter().all(|&b| b == FILL), "{what}: C output touched");

                    // One byte less is the largest output and is accepted.
                    let mut out = vec![0u8; max];
                    hkdf_derive(alg, &ikm, &salt, &info, &mut out).unwrap();
                }
                other => panic!("{what}: unexpected result {other:?}"),
            }
        }
    }
    assert_eq!(
        counts.valid + counts.invalid,
        usize_field(&doc, "numberOfTests"),
        "{file}: every vector must be processed"
    );
    counts
}

#[test]
fn wycheproof_hmac_sha256() {
    let counts = check_wycheproof_hmac("hmac_sha256_test.json", HashAlg::Sha256, "HMACSHA256");
    assert_eq!(
        counts,
        Counts {
            valid: 66,
            invalid: 108
        }
    );
}

#[test]
fn wycheproof_hmac_sha384() {
    let counts = check_wycheproof_hmac("hmac_sha384_test.json", HashAlg::Sha384, "HMACSHA384");
    assert_eq!(
        counts,
        Counts {
            valid: 66,
            invalid: 108
        }
    );
}

#[test]
fn wycheproof_hmac_sha512() {
    let counts = check_wycheproof_hmac("hmac_sha512_test.json", HashAlg::Sha512, "HMACSHA512");
    assert_eq!(
        counts,
        Counts {
            valid: 66,
            invalid: 108
        }
    );
}

#[test]
fn wycheproof_hkdf_sha256() {
    let counts = check_wycheproof_hkdf("hkdf_sha256_test.json", HashAlg::Sha256, "HKDF-SHA-256");
    assert_eq!(
        counts,
        Counts {
            valid: 83,
            invalid: 3
        }
    );
}

#[test]
fn wycheproof_hkdf_sha384() {
    let counts = check_wycheproof_hkdf("hkdf_sha384_test.json", HashAlg::Sha384, "HKDF-SHA-384");
    assert_eq!(
        counts,
        Counts {
            valid: 80,
            invalid: 3
        }
    );
}

#[test]
fn wycheproof_hkdf_sha512() {
    let counts = check_wycheproof_hkdf("hkdf_sha512_test.json", HashAlg::Sha512, "HKDF-SHA-512");
    assert_eq!(
        counts,
        Counts {
            valid: 80,
            invalid: 3
        }
    );
}
