//! Differential property tests: our HMAC and HKDF (safe API, streaming and
//! the C functions) against the independent implementation in `ring`.

mod common;

use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::codomyrmex_hmac_verify;
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use codomyrmex_keys::{
    ErrorKind, HashAlg, HmacStream, MAX_DIGEST_LEN, hkdf_derive, hkdf_expand, hkdf_extract, hmac,
    hmac_verify,
};
use common::ffi::c_hmac;
use proptest::prelude::*;

const CASES: u32 = 256;

fn ring_hmac_alg(alg: HashAlg) -> ring::hmac::Algorithm {
    match alg {
        HashAlg::Sha256 => ring::hmac::HMAC_SHA256,
        HashAlg::Sha384 => ring::hmac::HMAC_SHA384,
        HashAlg::Sha512 => ring::hmac::HMAC_SHA512,
    }
}

fn ring_hkdf_alg(alg: HashAlg) -> ring::hkdf::Algorithm {
    match alg {
        HashAlg::Sha256 => ring::hkdf::HKDF_SHA256,
        HashAlg::Sha384 => ring::hkdf::HKDF_SHA384,
        HashAlg::Sha512 => ring::hkdf::HKDF_SHA512,
    }
}

fn ring_hmac(alg: HashAlg, key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring_hmac_alg(alg), key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

/// An HKDF output length for `ring`, which otherwise only offers fixed ones.
struct OutputLen(usize);

impl ring::hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn ring_expand(prk: &ring::hkdf::Prk, info: &[u8], len: usize) -> Vec<u8> {
    let info = [info];
    let okm = prk
        .expand(&info, OutputLen(len))
        .expect("length within 255 * HashLen");
    let mut out = vec![0u8; len];
    okm.fill(&mut out).expect("fill to the requested length");
    out
}

fn ring_hkdf(alg: HashAlg, ikm: &[u8], salt: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    // An empty salt is an empty HMAC key, which HMAC pads to the same block
    // as HashLen zero bytes: exactly RFC 5869's "no salt".
    let prk = ring::hkdf::Salt::new(ring_hkdf_alg(alg), salt).extract(ikm);
    ring_expand(&prk, info, len)
}

fn any_alg() -> impl Strategy<Value = HashAlg> {
    prop::sample::select(HashAlg::ALL.to_vec())
}

/// An algorithm with an HKDF output length from 1 to 255 × HashLen,
/// weighted towards the edges (one block, block boundaries, the maximum).
fn alg_and_okm_len() -> impl Strategy<Value = (HashAlg, usize)> {
    any_alg().prop_flat_map(|alg| {
        let hash_len = alg.digest_len();
        let max = 255 * hash_len;
        let len = prop_oneof![
            4 => 1..=max,
            2 => 1..=2 * hash_len + 1,
            1 => prop::sample::select(vec![
                1,
                hash_len - 1,
                hash_len,
                hash_len + 1,
                max - 1,
                max,
            ]),
        ];
        (Just(alg), len)
    })
}

fn bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max_len)
}

/// Splits `data` at the (sorted, clamped) `cuts`, keeping empty pieces.
fn split_at_cuts<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        pieces.push(&data[start..cut]);
        start = cut;
    }
    pieces.push(&data[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// One-shot HMAC, the C function and ring agree; verification accepts
    /// the MAC and refuses it with one bit flipped or one byte cut off.
    #[test]
    fn hmac_matches_ring(
        alg in any_alg(),
        key in bytes(300),
        data in bytes(5000),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let expected = ring_hmac(alg, &key, &data);
        let mac = hmac(alg, &key, &data);
        prop_assert_eq!(mac.as_bytes(), &expected[..]);
        prop_assert_eq!(c_hmac(alg.value(), &key, &data), expected.clone());

        prop_assert!(hmac_verify(alg, &key, &data, &expected).is_ok());
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe {
            codomyrmex_hmac_verify(alg.value(), key.as_ptr(), key.len(), data.as_ptr(),
                data.len(), expected.as_ptr(), expected.len())
        };
        prop_assert_eq!(status, CODOMYRMEX_OK);

        let mut bad = expected.clone();
        let at = flip.index(bad.len());
        bad[at] ^= 1 << bit;
        prop_assert_eq!(
            hmac_verify(alg, &key, &data, &bad).unwrap_err().kind(),
            ErrorKind::VerifyFailed
        );
        prop_assert!(ring::hmac::verify(
            &ring::hmac::Key::new(ring_hmac_alg(alg), &key), &data, &bad).is_err());
        prop_assert_eq!(
            hmac_verify(alg, &key, &data, &expected[..expected.len() - 1])
                .unwrap_err()
                .kind(),
            ErrorKind::VerifyFailed
        );
    }

    /// Streaming with arbitrary chunking (empty chunks included) equals
    /// ring, and the stream starts over after each finish.
    #[test]
    fn streaming_hmac_matches_ring(
        alg in any_alg(),
        key in bytes(300),
        data in bytes(5000),
        cuts in prop::collection::vec(0usize..5000, 0..12),
    ) {
        let expected = ring_hmac(alg, &key, &data);
        let mut ring_ctx = ring::hmac::Context::with_key(
            &ring::hmac::Key::new(ring_hmac_alg(alg), &key));
        let mut stream = HmacStream::new(alg, &key);
        for piece in split_at_cuts(&data, &cuts) {
            stream.update(piece);
            ring_ctx.update(piece);
        }
        let ring_tag = ring_ctx.sign();
        prop_assert_eq!(ring_tag.as_ref(), &expected[..]);
        let mac = stream.finish();
        prop_assert_eq!(mac.as_bytes(), &expected[..]);
        // After finish the stream is keyed and empty again.
        for piece in split_at_cuts(&data, &cuts).into_iter().rev() {
            stream.update(piece);
        }
        let mut reversed = Vec::with_capacity(data.len());
        for piece in split_at_cuts(&data, &cuts).into_iter().rev() {
            reversed.extend_from_slice(piece);
        }
        prop_assert!(stream.finish_verify(&ring_hmac(alg, &key, &reversed)).is_ok());
        let empty = stream.finish();
        prop_assert_eq!(empty.as_bytes(), &ring_hmac(alg, &key, b"")[..]);
    }

    /// HKDF derive (safe and C) equals ring for any output length from 1 to
    /// 255 × HashLen, with and without salt and info.
    #[test]
    fn hkdf_derive_matches_ring(
        (alg, len) in alg_and_okm_len(),
        ikm in bytes(300),
        salt in bytes(300),
        info in bytes(300),
    ) {
        let expected = ring_hkdf(alg, &ikm, &salt, &info, len);

        let mut okm = vec![0u8; len];
        hkdf_derive(alg, &ikm, &salt, &info, &mut okm).unwrap();
        prop_assert_eq!(&okm, &expected);

        let mut okm = vec![0u8; len];
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe {
            codomyrmex_hkdf_derive(alg.value(), ikm.as_ptr(), ikm.len(), salt.as_ptr(),
                salt.len(), info.as_ptr(), info.len(), okm.as_mut_ptr(), okm.len())
        };
        prop_assert_eq!(status, CODOMYRMEX_OK);
        prop_assert_eq!(&okm, &expected);
    }

    /// Extract equals HMAC(salt, ikm) computed by ring, and expand of our
    /// PRK (safe and C) equals ring's expand of the same PRK; the two steps
    /// together equal ring's HKDF.
    #[test]
    fn hkdf_extract_then_expand_matches_ring(
        (alg, len) in alg_and_okm_len(),
        ikm in bytes(300),
        salt in bytes(300),
        info in bytes(300),
    ) {
        let hash_len = alg.digest_len();
        let salt_key = if salt.is_empty() { vec![0u8; hash_len] } else { salt.clone() };
        let expected_prk = ring_hmac(alg, &salt_key, &ikm);

        let prk = hkdf_extract(alg, &salt, &ikm);
        prop_assert_eq!(prk.as_bytes(), &expected_prk[..]);

        let mut c_prk = [0u8; MAX_DIGEST_LEN];
        let mut c_prk_len = 0usize;
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe {
            codomyrmex_hkdf_extract(alg.value(), salt.as_ptr(), salt.len(), ikm.as_ptr(),
                ikm.len(), c_prk.as_mut_ptr(), c_prk.len(), &mut c_prk_len)
        };
        prop_assert_eq!(status, CODOMYRMEX_OK);
        prop_assert_eq!(&c_prk[..c_prk_len], &expected_prk[..]);

        let ring_prk = ring::hkdf::Prk::new_less_safe(ring_hkdf_alg(alg), prk.as_bytes());
        let expected = ring_expand(&ring_prk, &info, len);
        prop_assert_eq!(&expected, &ring_hkdf(alg, &ikm, &salt, &info, len));

        let mut okm = vec![0u8; len];
        hkdf_expand(alg, prk.as_bytes(), &info, &mut okm).unwrap();
        prop_assert_eq!(&okm, &expected);

        let mut okm = vec![0u8; len];
        // SAFETY: every pointer is valid for the length passed with it.
        let status = unsafe {
            codomyrmex_hkdf_expand(alg.value(), prk.as_bytes().as_ptr(), prk.as_bytes().len(),
                info.as_ptr(), info.len(), okm.as_mut_ptr(), okm.len())
        };
        prop_assert_eq!(status, CODOMYRMEX_OK);
        prop_assert_eq!(&okm, &expected);
    }

    /// Expand accepts any PRK of at least HashLen bytes (it is an HMAC key)
    /// and agrees with ring on it; a shorter one is refused.
    #[test]
    fn hkdf_expand_with_long_prk_matches_ring(
        alg in any_alg(),
        extra in bytes(200),
        info in bytes(100),
        len in 1usize..=600,
    ) {
        let hash_len = alg.digest_len();
        let mut prk = vec![0x42u8; hash_len];
        prk.extend_from_slice(&extra);
        let ring_prk = ring::hkdf::Prk::new_less_safe(ring_hkdf_alg(alg), &prk);
        let expected = ring_expand(&ring_prk, &info, len);
        let mut okm = vec![0u8; len];
        hkdf_expand(alg, &prk, &info, &mut okm).unwrap();
        prop_assert_eq!(&okm, &expected);

        let mut untouched = vec![0x5Au8; len];
        let err = hkdf_expand(alg, &prk[..hash_len - 1], &info, &mut untouched).unwrap_err();
        prop_assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        prop_assert!(untouched.iter().all(|&b| b == 0x5A));
    }
}

#[test]
fn split_at_cuts_keeps_every_byte_in_order() {
    let data: Vec<u8> = (0..10).collect();
    let pieces = split_at_cuts(&data, &[7, 3, 3, 50]);
    assert_eq!(pieces.len(), 5);
    assert_eq!(pieces.concat(), data);
    assert_eq!(pieces[1], &[] as &[u8]);
    assert_eq!(pieces[4], &[] as &[u8]);
}
