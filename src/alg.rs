//! Hash algorithm choice.

use crate::error::{Error, ErrorKind, Result};
use std::fmt;
use std::str::FromStr;

/// The longest digest of any supported algorithm (SHA-512), in bytes.
pub const MAX_DIGEST_LEN: usize = 64;

/// A SHA-2 hash function for HMAC and HKDF.
///
/// The discriminants are the values of `codomyrmex_hash_alg` in the C
/// interface and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256: 32-byte digest.
    Sha256 = 1,
    /// SHA-384: 48-byte digest.
    Sha384 = 2,
    /// SHA-512: 64-byte digest.
    Sha512 = 3,
}

impl HashAlg {
    /// Every supported algorithm, in value order.
    pub const ALL: [HashAlg; 3] = [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512];

    /// Digest (and HMAC) length in bytes: 32, 48 or 64.
    pub const fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// The canonical lowercase name: `"sha256"`, `"sha384"` or `"sha512"`.
    pub const fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    /// The numeric value used by the C interface (1, 2 or 3).
    pub const fn value(self) -> u32 {
        self as u32
    }

    /// The algorithm with C value `value`.
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedAlgorithm`] for any value other than 1, 2, 3.
    pub fn from_value(value: u32) -> Result<Self> {
        match value {
            1 => Ok(HashAlg::Sha256),
            2 => Ok(HashAlg::Sha384),
            3 => Ok(HashAlg::Sha512),
            _ => Err(Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!(
                    "unsupported hash algorithm value {value} (expected 1 = SHA-256, 2 = SHA-384, 3 = SHA-512)"
                ),
            )),
        }
    }

    /// Parses `"sha256"`, `"sha384"`, `"sha512"` in any letter case, also
    /// with a `-` or `_` after `sha` (`"SHA-256"`, `"sha_512"`).
    ///
    /// # Errors
    /// [`ErrorKind::UnsupportedAlgorithm`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        let digits = lower.strip_prefix("sha").map(|rest| {
            rest.strip_prefix('-')
                .or_else(|| rest.strip_prefix('_'))
                .unwrap_or(rest)
        });
        match digits {
            Some("256") => Ok(HashAlg::Sha256),
            Some("384") => Ok(HashAlg::Sha384),
            Some("512") => Ok(HashAlg::Sha512),
            _ => Err(Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!(
                    "unsupported hash algorithm name \"{}\" (expected sha256, sha384 or sha512)",
                    name.escape_debug()
                ),
            )),
        }
    }
}

impl TryFrom<u32> for HashAlg {
    type Error = Error;

    fn try_from(value: u32) -> Result<Self> {
        HashAlg::from_value(value)
    }
}

impl FromStr for HashAlg {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        HashAlg::from_name(name)
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_spelling() {
        for (name, alg) in [
            ("sha256", HashAlg::Sha256),
            ("SHA-256", HashAlg::Sha256),
            ("Sha_384", HashAlg::Sha384),
            ("sHa512", HashAlg::Sha512),
        ] {
            assert_eq!(HashAlg::from_name(name).unwrap(), alg, "{name}");
        }
        for bad in [
            "", "sha1", "sha", "sha-", "sha--256", "sha256 ", " sha256", "md5", "sha2-256",
        ] {
            let err = HashAlg::from_name(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm, "{bad:?}");
        }
    }

    #[test]
    fn values_round_trip_and_unknown_values_fail() {
        for alg in HashAlg::ALL {
            assert_eq!(HashAlg::from_value(alg.value()).unwrap(), alg);
            assert_eq!(alg.name().parse::<HashAlg>().unwrap(), alg);
        }
        for bad in [0, 4, 255, u32::MAX] {
            assert_eq!(
                HashAlg::from_value(bad).unwrap_err().kind(),
                ErrorKind::UnsupportedAlgorithm
            );
        }
    }
}
