//! HKDF (RFC 5869): extract, expand and both in one call.
//!
//! HKDF turns high-entropy input (a shared secret, a stored key) into keys.
//! It is not a password hash: it does nothing to slow down guessing.

use crate::alg::{HashAlg, MAX_DIGEST_LEN};
use crate::error::{Argument, Error, Result};
use crate::secret::{Op, scrubbed_op};
use ::hmac::EagerHash;
use hkdf::Hkdf;
use sha2::{Sha256, Sha384, Sha512};
use std::fmt;
use zeroize::Zeroize;

/// A pseudorandom key from [`hkdf_extract`]: HashLen bytes, wiped on drop.
///
/// The bytes live on the heap, so moving a `Prk` copies a pointer, never
/// the key.
#[derive(Clone)]
pub struct Prk {
    bytes: Box<[u8; MAX_DIGEST_LEN]>,
    len: usize,
}

impl Prk {
    /// The PRK bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Drop for Prk {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Prk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prk([redacted; {}])", self.len)
    }
}

/// The largest HKDF output for `alg`: 255 × HashLen bytes.
pub(crate) const fn max_okm_len(alg: HashAlg) -> usize {
    255 * alg.digest_len()
}

pub(crate) fn check_okm_len(alg: HashAlg, okm_len: usize) -> Result<()> {
    if (1..=max_okm_len(alg)).contains(&okm_len) {
        Ok(())
    } else {
        Err(Error::invalid(
            Argument::OutputLength,
            format!(
                "output length {okm_len} is out of range: HKDF-{} output is 1 to {} bytes",
                alg.name().to_ascii_uppercase(),
                max_okm_len(alg)
            ),
        ))
    }
}

/// HKDF-Extract then HKDF-Expand: fills `okm` (1 to 255 × HashLen bytes)
/// with key material derived from `ikm`. An empty `salt` means no salt
/// (HashLen zero bytes, as RFC 5869 defines).
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) if `okm` is empty or longer than
/// 255 × HashLen; `okm` is then left untouched.
pub fn hkdf_derive(
    alg: HashAlg,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> Result<()> {
    check_okm_len(alg, okm.len())?;
    scrubbed_op(Op::Hkdf, alg, || match alg {
        HashAlg::Sha256 => derive_with::<Sha256>(ikm, salt, info, okm),
        HashAlg::Sha384 => derive_with::<Sha384>(ikm, salt, info, okm),
        HashAlg::Sha512 => derive_with::<Sha512>(ikm, salt, info, okm),
    });
    Ok(())
}

fn derive_with<D: EagerHash>(ikm: &[u8], salt: &[u8], info: &[u8], okm: &mut [u8]) {
    let (mut prk, hkdf) = Hkdf::<D>::extract(Some(salt), ikm);
    prk.as_mut_slice().zeroize();
    // The length was checked by the caller, so expand cannot fail.
    let _ = hkdf.expand(info, okm);
}

/// HKDF-Extract: the PRK (HashLen bytes) of `ikm` under `salt` (empty: no
/// salt).
pub fn hkdf_extract(alg: HashAlg, salt: &[u8], ikm: &[u8]) -> Prk {
    let mut prk = Prk {
        bytes: Box::new([0; MAX_DIGEST_LEN]),
        len: alg.digest_len(),
    };
    hkdf_extract_into(alg, salt, ikm, &mut prk.bytes[..prk.len]);
    prk
}

/// HKDF-Extract into `out`, which must be exactly HashLen bytes (the C
/// interface writes the PRK straight into the caller's buffer).
pub(crate) fn hkdf_extract_into(alg: HashAlg, salt: &[u8], ikm: &[u8], out: &mut [u8]) {
    scrubbed_op(Op::Hkdf, alg, || match alg {
        HashAlg::Sha256 => extract_with::<Sha256>(salt, ikm, out),
        HashAlg::Sha384 => extract_with::<Sha384>(salt, ikm, out),
        HashAlg::Sha512 => extract_with::<Sha512>(salt, ikm, out),
    });
}

fn extract_with<D: EagerHash>(salt: &[u8], ikm: &[u8], out: &mut [u8]) {
    let (mut prk, _hkdf) = Hkdf::<D>::extract(Some(salt), ikm);
    out.copy_from_slice(&prk);
    prk.as_mut_slice().zeroize();
}

/// HKDF-Expand: fills `okm` (1 to 255 × HashLen bytes) from `prk` (at least
/// HashLen bytes) and `info`.
///
/// # Errors
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) if `prk` is shorter than HashLen or `okm`
/// has a length out of range; `okm` is then left untouched.
pub fn hkdf_expand(alg: HashAlg, prk: &[u8], info: &[u8], okm: &mut [u8]) -> Result<()> {
    if prk.len() < alg.digest_len() {
        return Err(Error::invalid(
            Argument::Prk,
            format!(
                "PRK length {} is too short: HKDF-{} needs a PRK of at least {} bytes",
                prk.len(),
                alg.name().to_ascii_uppercase(),
                alg.digest_len()
            ),
        ));
    }
    check_okm_len(alg, okm.len())?;
    scrubbed_op(Op::Hkdf, alg, || match alg {
        HashAlg::Sha256 => expand_with::<Sha256>(prk, info, okm),
        HashAlg::Sha384 => expand_with::<Sha384>(prk, info, okm),
        HashAlg::Sha512 => expand_with::<Sha512>(prk, info, okm),
    });
    Ok(())
}

fn expand_with<D: EagerHash>(prk: &[u8], info: &[u8], okm: &mut [u8]) {
    // Both lengths were checked by the caller, so neither call can fail.
    if let Ok(hkdf) = Hkdf::<D>::from_prk(prk) {
        let _ = hkdf.expand(info, okm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let prk = hkdf_extract(HashAlg::Sha256, &salt, &ikm);
        assert_eq!(
            hex(prk.as_bytes()),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
        );
        let mut okm = [0; 42];
        hkdf_derive(HashAlg::Sha256, &ikm, &salt, &info, &mut okm).unwrap();
        let mut okm2 = [0; 42];
        hkdf_expand(HashAlg::Sha256, prk.as_bytes(), &info, &mut okm2).unwrap();
        assert_eq!(okm, okm2);
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn lengths_out_of_range_are_refused_and_leave_output_alone() {
        let mut okm = [7u8; 8161];
        let err = hkdf_derive(HashAlg::Sha256, b"k", b"", b"", &mut okm).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(okm.iter().all(|&b| b == 7));
        let err = hkdf_expand(HashAlg::Sha256, &[1; 31], b"", &mut okm[..32]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(hkdf_derive(HashAlg::Sha256, b"k", b"", b"", &mut []).is_err());
    }
}
