//! Precomputed HMAC keys: the HMAC state right after the key has been
//! absorbed, kept so that each MAC costs a copy of that state, the message
//! and the finalization (two compressions for a message shorter than a
//! block minus its padding), with no heap allocation.

use crate::alg::HashAlg;
use crate::error::Result;
use crate::hmac::{Mac, State, check_mac};
use crate::secret::{Op, scrubbed_op};
use std::fmt;

/// One key of one algorithm, with its inner (`key ^ ipad`) and outer
/// (`key ^ opad`) blocks already hashed.
///
/// The raw key is not kept. The hash states wipe themselves when dropped
/// (the `sha2` and `hmac` crates are built with `zeroize`), and every copy
/// a MAC makes lives on the stack and is scrubbed before the call returns.
/// The value itself is wherever its owner puts it: a keyring keeps its keys
/// in locked, non-dumpable pages (see `crate::keyring`).
pub struct HmacKey {
    keyed: State,
}

impl HmacKey {
    /// The precomputed key for `key` (any length, including 0).
    pub fn new(alg: HashAlg, key: &[u8]) -> HmacKey {
        scrubbed_op(Op::Key, alg, || HmacKey {
            keyed: State::new(alg, key),
        })
    }

    /// The algorithm of this key.
    pub fn alg(&self) -> HashAlg {
        self.keyed.alg()
    }

    /// The HMAC of `data`: the same bytes as `crate::hmac::hmac` with the
    /// raw key.
    pub fn mac(&self, data: &[u8]) -> Mac {
        scrubbed_op(Op::Key, self.alg(), || {
            let mut state = self.keyed.clone();
            state.update(data);
            state.finalize()
        })
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

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKey({})", self.alg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::hmac::hmac;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_bytes_as_the_one_shot_hmac(
            alg_index in 0usize..3,
            key in proptest::collection::vec(any::<u8>(), 0..300),
            data in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let alg = HashAlg::ALL[alg_index];
            let precomputed = HmacKey::new(alg, &key);
            let expected = hmac(alg, &key, &data);
            prop_assert_eq!(precomputed.mac(&data), expected);
            // The key serves again, unchanged by the first MAC.
            prop_assert_eq!(precomputed.mac(&data), expected);
            prop_assert!(precomputed.verify(&data, expected.as_bytes()).is_ok());
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
