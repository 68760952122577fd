//! Precomputed HMAC keys: the SHA-2 chaining values right after the
//! inner (`key ^ ipad`) and outer (`key ^ opad`) blocks, kept so that a MAC
//! of a short message costs two compressions — the floor of HMAC — plus
//! the padding, with no heap allocation.
//!
//! The compressions are the `sha2` crate's own (`compress256`,
//! `compress512`: SHA-NI, AVX2 or portable, chosen at run time); this
//! module only lays out the blocks around them as FIPS 180-4 pads a
//! message, and HMAC (RFC 2104) chains the two hashes. The one-shot
//! `crate::hmac::hmac` uses it too (four compressions for a short message,
//! the key's two included). Its results are checked against the `hmac`
//! crate for every algorithm, key length and message length in the tests
//! below, and against RFC 4231, Wycheproof and `ring` in `tests/`.

use crate::alg::{HashAlg, MAX_DIGEST_LEN};
use crate::error::Result;
use crate::hmac::{Mac, check_mac};
use crate::secret::{Op, scrubbed_op};
use sha2::block_api::{compress256, compress512};
use std::fmt;
use zeroize::Zeroize;

/// The initial SHA-256 chaining value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The initial SHA-384 chaining value (FIPS 180-4, 5.3.4).
const SHA384_IV: [u64; 8] = [
    0xcbbb_9d5d_c105_9ed8,
    0x629a_292a_367c_d507,
    0x9159_015a_3070_dd17,
    0x152f_ecd8_f70e_5939,
    0x6733_2667_ffc0_0b31,
    0x8eb4_4a87_6858_1511,
    0xdb0c_2e0d_64f9_8fa7,
    0x47b5_481d_befa_4fa4,
];

/// The initial SHA-512 chaining value (FIPS 180-4, 5.3.5).
const SHA512_IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// One key of one algorithm, as the chaining values after its inner and
/// outer blocks. The raw key is not kept.
///
/// The values are wiped when dropped, and every copy a MAC makes lives on
/// the stack and is scrubbed before the call returns. The value itself is
/// wherever its owner puts it: a keyring keeps its keys in locked,
/// non-dumpable pages (see `crate::keyring`).
pub struct HmacKey {
    schedule: Schedule,
}

/// The chaining values of one key, unscrubbed: [`HmacKey`] and the
/// one-shot `crate::hmac::hmac` run it inside their own stack scrub.
pub(crate) enum Schedule {
    Sha256 {
        inner: [u32; 8],
        outer: [u32; 8],
    },
    /// SHA-384 or SHA-512 (`alg` tells which: their IVs and output
    /// lengths differ, their compression is the same).
    Sha512 {
        alg: HashAlg,
        inner: [u64; 8],
        outer: [u64; 8],
    },
}

impl HmacKey {
    /// The precomputed key for `key` (any length, including 0).
    pub fn new(alg: HashAlg, key: &[u8]) -> HmacKey {
        scrubbed_op(Op::Key, alg, || HmacKey {
            schedule: Schedule::new(alg, key),
        })
    }

    /// The algorithm of this key.
    pub fn alg(&self) -> HashAlg {
        self.schedule.alg()
    }

    /// The HMAC of `data`: the same bytes as `crate::hmac::hmac` with the
    /// raw key.
    pub fn mac(&self, data: &[u8]) -> Mac {
        scrubbed_op(Op::Key, self.alg(), || self.schedule.mac(data))
    }

    /// Checks `mac` against the HMAC of `data` in constant time in its
    /// content.
    ///
    /// # Errors
    /// [`crate::ErrorKind::VerifyFailed`] if it does not match, including
    /// when `mac` is not exactly the digest length.
    pub fn verify(&self, data: &[u8], mac: &[u8]) -> Result<()> {
        check_mac(&self.mac(data), mac)
    }
}

impl Schedule {
    /// The chaining values for `key` (any length, including 0).
    pub(crate) fn new(alg: HashAlg, key: &[u8]) -> Schedule {
        match alg {
            HashAlg::Sha256 => {
                let (inner, outer) = pads::<64>(key, copy_digest::<sha2::Sha256>);
                Schedule::Sha256 {
                    inner: chain256(&inner),
                    outer: chain256(&outer),
                }
            }
            HashAlg::Sha384 | HashAlg::Sha512 => {
                let (inner, outer) = pads::<128>(key, |long, out| match alg {
                    HashAlg::Sha384 => copy_digest::<sha2::Sha384>(long, out),
                    _ => copy_digest::<sha2::Sha512>(long, out),
                });
                let iv = if alg == HashAlg::Sha384 {
                    SHA384_IV
                } else {
                    SHA512_IV
                };
                Schedule::Sha512 {
                    alg,
                    inner: chain512(iv, &inner),
                    outer: chain512(iv, &outer),
                }
            }
        }
    }

    /// The algorithm.
    fn alg(&self) -> HashAlg {
        match self {
            Schedule::Sha256 { .. } => HashAlg::Sha256,
            Schedule::Sha512 { alg, .. } => *alg,
        }
    }

    /// The HMAC of `data`.
    pub(crate) fn mac(&self, data: &[u8]) -> Mac {
        match self {
            Schedule::Sha256 { inner, outer } => mac256(inner, outer, data),
            Schedule::Sha512 { alg, inner, outer } => mac512(*alg, inner, outer, data),
        }
    }
}

impl Drop for Schedule {
    fn drop(&mut self) {
        match self {
            Schedule::Sha256 { inner, outer } => {
                inner.zeroize();
                outer.zeroize();
            }
            Schedule::Sha512 { inner, outer, .. } => {
                inner.zeroize();
                outer.zeroize();
            }
        }
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({})", self.alg())
    }
}

/// The inner and outer pad blocks of `key` for a hash with `B`-byte
/// blocks: a key longer than a block is hashed first (`digest`), as RFC
/// 2104 says. `digest` writes the hash into its buffer and returns its
/// length; nothing is allocated.
fn pads<const B: usize>(
    key: &[u8],
    digest: impl Fn(&[u8], &mut [u8; MAX_DIGEST_LEN]) -> usize,
) -> ([u8; B], [u8; B]) {
    let mut hashed = zeroize::Zeroizing::new([0u8; MAX_DIGEST_LEN]);
    let key = if key.len() > B {
        let len = digest(key, &mut hashed);
        &hashed[..len]
    } else {
        key
    };
    let mut inner = [0x36u8; B];
    let mut outer = [0x5cu8; B];
    for (i, byte) in key.iter().enumerate() {
        inner[i] ^= byte;
        outer[i] ^= byte;
    }
    (inner, outer)
}

/// Hashes `data` with `D` into the front of `out`, returning the digest
/// length.
fn copy_digest<D: sha2::Digest>(data: &[u8], out: &mut [u8; MAX_DIGEST_LEN]) -> usize {
    let digest = D::digest(data);
    out[..digest.len()].copy_from_slice(&digest);
    digest.len()
}

/// The SHA-256 chaining value after one block.
fn chain256(block: &[u8; 64]) -> [u32; 8] {
    let mut state = SHA256_IV;
    compress256(&mut state, std::slice::from_ref(block));
    state
}

/// The SHA-384/512 chaining value after one block, from `iv`.
fn chain512(iv: [u64; 8], block: &[u8; 128]) -> [u64; 8] {
    let mut state = iv;
    compress512(&mut state, std::slice::from_ref(block));
    state
}

/// HMAC-SHA256 of `data` from the precomputed chaining values.
fn mac256(inner: &[u32; 8], outer: &[u32; 8], data: &[u8]) -> Mac {
    let mut state = *inner;
    let (blocks, rest) = data.as_chunks::<64>();
    compress256(&mut state, blocks);
    // The inner hash has seen one block (key ^ ipad) before `data`.
    let bits = (64 + data.len() as u64).wrapping_mul(8);
    let mut tail = [[0u8; 64]; 2];
    let flat = tail.as_flattened_mut();
    flat[..rest.len()].copy_from_slice(rest);
    flat[rest.len()] = 0x80;
    let used = if rest.len() + 9 <= 64 { 1 } else { 2 };
    flat[used * 64 - 8..used * 64].copy_from_slice(&bits.to_be_bytes());
    compress256(&mut state, &tail[..used]);

    let mut block = [0u8; 64];
    for (bytes, word) in block.as_chunks_mut::<4>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
    block[32] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
    let mut state = *outer;
    compress256(&mut state, std::slice::from_ref(&block));
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.as_chunks_mut::<4>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
    Mac::from_slice(&digest)
}

/// HMAC-SHA384 or HMAC-SHA512 of `data` from the precomputed chaining
/// values.
fn mac512(alg: HashAlg, inner: &[u64; 8], outer: &[u64; 8], data: &[u8]) -> Mac {
    let len = alg.digest_len();
    let mut state = *inner;
    let (blocks, rest) = data.as_chunks::<128>();
    compress512(&mut state, blocks);
    let bits = (128 + data.len() as u128).wrapping_mul(8);
    let mut tail = [[0u8; 128]; 2];
    let flat = tail.as_flattened_mut();
    flat[..rest.len()].copy_from_slice(rest);
    flat[rest.len()] = 0x80;
    let used = if rest.len() + 17 <= 128 { 1 } else { 2 };
    flat[used * 128 - 16..used * 128].copy_from_slice(&bits.to_be_bytes());
    compress512(&mut state, &tail[..used]);

    let mut block = [0u8; 128];
    for (bytes, word) in block.as_chunks_mut::<8>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
    // The outer hash takes the inner digest, truncated for SHA-384.
    block[len..].fill(0);
    block[len] = 0x80;
    block[112..].copy_from_slice(&((128u128 + len as u128) * 8).to_be_bytes());
    let mut state = *outer;
    compress512(&mut state, std::slice::from_ref(&block));
    let mut digest = [0u8; 64];
    for (bytes, word) in digest.as_chunks_mut::<8>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
    Mac::from_slice(&digest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::hmac::{HmacStream, hmac};
    use proptest::prelude::*;

    /// The HMAC computed by the `hmac` crate (through a stream), which
    /// shares no code with this module.
    fn reference(alg: HashAlg, key: &[u8], data: &[u8]) -> Mac {
        let mut stream = HmacStream::new(alg, key);
        stream.update(data);
        stream.finish()
    }

    proptest! {
        #[test]
        fn same_bytes_as_the_hmac_crate(
            alg_index in 0usize..3,
            key in proptest::collection::vec(any::<u8>(), 0..300),
            data in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let alg = HashAlg::ALL[alg_index];
            let precomputed = HmacKey::new(alg, &key);
            let expected = reference(alg, &key, &data);
            prop_assert_eq!(precomputed.mac(&data), expected);
            prop_assert_eq!(hmac(alg, &key, &data), expected);
            // The key serves again, unchanged by the first MAC.
            prop_assert_eq!(precomputed.mac(&data), expected);
            prop_assert!(precomputed.verify(&data, expected.as_bytes()).is_ok());
        }
    }

    #[test]
    fn every_message_length_around_the_padding_boundaries_matches() {
        // Every length up to three blocks of SHA-512, so each place the
        // length field can fall (same block, next block) is crossed, with
        // keys shorter than, equal to and longer than a block.
        let data: Vec<u8> = (0..=384u32).map(|i| (i * 7 + 3) as u8).collect();
        for alg in HashAlg::ALL {
            for key_len in [0, 1, 32, 64, 65, 128, 129, 200] {
                let key: Vec<u8> = (0..key_len).map(|i| (i * 13 + 1) as u8).collect();
                let precomputed = HmacKey::new(alg, &key);
                for len in 0..=data.len() {
                    let expected = reference(alg, &key, &data[..len]);
                    let what = format!("{alg} key {key_len} data {len}");
                    assert_eq!(precomputed.mac(&data[..len]), expected, "{what}");
                    assert_eq!(hmac(alg, &key, &data[..len]), expected, "{what}");
                }
            }
        }
    }

    #[test]
    fn verify_refuses_a_wrong_or_truncated_mac() {
        for alg in HashAlg::ALL {
            let key = HmacKey::new(alg, b"key");
            assert_eq!(key.alg(), alg);
            let mac = key.mac(b"data");
            let mut wrong = mac.as_bytes().to_vec();
            wrong[3] ^= 0x10;
            for candidate in [&wrong[..], &mac.as_bytes()[..alg.digest_len() - 1], &[]] {
                let err = key.verify(b"data", candidate).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::VerifyFailed);
            }
            let mut longer = mac.as_bytes().to_vec();
            longer.push(0);
            assert!(key.verify(b"data", &longer).is_err());
            assert!(key.verify(b"other", mac.as_bytes()).is_err());
        }
    }

    #[test]
    fn debug_shows_only_the_algorithm() {
        let key = HmacKey::new(HashAlg::Sha384, b"secret key");
        assert_eq!(format!("{key:?}"), format!("HmacKey({})", HashAlg::Sha384));
    }
}
