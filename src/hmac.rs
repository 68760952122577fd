//! HMAC (RFC 2104): one-shot, streaming and constant-time verification.

use crate::alg::{HashAlg, MAX_DIGEST_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::hmac_key::Schedule;
use crate::secret::{Op, scrubbed_op};
use crate::sys::wipe::Wiped;
use ::hmac::Hmac;
use hkdf::HmacImpl;
use sha2::{Sha256, Sha384, Sha512};
use std::fmt;
use subtle::ConstantTimeEq;

/// An HMAC value: 32, 48 or 64 bytes depending on the algorithm.
///
/// `==` compares in constant time.
#[derive(Clone, Copy)]
pub struct Mac {
    bytes: [u8; MAX_DIGEST_LEN],
    len: usize,
}

impl Mac {
    /// A MAC holding `bytes` (a MAC received from elsewhere); at most
    /// [`MAX_DIGEST_LEN`] bytes are kept.
    pub(crate) fn from_slice(bytes: &[u8]) -> Mac {
        let mut mac = Mac {
            bytes: [0; MAX_DIGEST_LEN],
            len: bytes.len().min(MAX_DIGEST_LEN),
        };
        mac.bytes[..mac.len].copy_from_slice(&bytes[..mac.len]);
        mac
    }

    /// The MAC bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Its length in bytes (the algorithm's digest length).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: a MAC has at least 32 bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.as_bytes()
            .iter()
            .fold(String::with_capacity(self.len * 2), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }

    /// Whether `candidate` equals this MAC, in time independent of the
    /// content (a candidate of another length is unequal).
    fn matches(&self, candidate: &[u8]) -> bool {
        candidate.len() == self.len && bool::from(self.as_bytes().ct_eq(candidate))
    }
}

impl PartialEq for Mac {
    fn eq(&self, other: &Mac) -> bool {
        self.matches(other.as_bytes())
    }
}

impl Eq for Mac {}

impl AsRef<[u8]> for Mac {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({})", self.to_hex())
    }
}

/// Keyed HMAC state for one algorithm. The `hmac` and `sha2` crates are
/// built with `zeroize`, so every state wipes itself when dropped.
#[derive(Clone)]
pub(crate) enum State {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl State {
    /// The state with `key` absorbed (inner and outer pads hashed).
    pub(crate) fn new(alg: HashAlg, key: &[u8]) -> State {
        match alg {
            HashAlg::Sha256 => State::Sha256(HmacImpl::new_from_slice(key)),
            HashAlg::Sha384 => State::Sha384(HmacImpl::new_from_slice(key)),
            HashAlg::Sha512 => State::Sha512(HmacImpl::new_from_slice(key)),
        }
    }

    /// The algorithm of this state.
    pub(crate) fn alg(&self) -> HashAlg {
        match self {
            State::Sha256(_) => HashAlg::Sha256,
            State::Sha384(_) => HashAlg::Sha384,
            State::Sha512(_) => HashAlg::Sha512,
        }
    }

    /// Feeds `data` to the inner hash.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            State::Sha256(h) => HmacImpl::update(h, data),
            State::Sha384(h) => HmacImpl::update(h, data),
            State::Sha512(h) => HmacImpl::update(h, data),
        }
    }

    /// The MAC of everything fed; the state is consumed (and wipes itself).
    pub(crate) fn finalize(self) -> Mac {
        let mut mac = Mac {
            bytes: [0; MAX_DIGEST_LEN],
            len: self.alg().digest_len(),
        };
        let out = &mut mac.bytes[..mac.len];
        match self {
            State::Sha256(h) => out.copy_from_slice(&HmacImpl::finalize(h)),
            State::Sha384(h) => out.copy_from_slice(&HmacImpl::finalize(h)),
            State::Sha512(h) => out.copy_from_slice(&HmacImpl::finalize(h)),
        }
        mac
    }
}

/// HMAC of `data` under `key` (any length, including 0).
pub fn hmac(alg: HashAlg, key: &[u8], data: &[u8]) -> Mac {
    scrubbed_op(Op::Hmac, alg, || Schedule::new(alg, key).mac(data))
}

/// Checks `mac` against the HMAC of `data` under `key`, in constant time in
/// the MAC's content.
///
/// # Errors
/// [`ErrorKind::VerifyFailed`] if it does not match, including when `mac`
/// is not exactly the digest length (a truncated MAC never verifies).
pub fn hmac_verify(alg: HashAlg, key: &[u8], data: &[u8], mac: &[u8]) -> Result<()> {
    check_mac(&hmac(alg, key, data), mac)
}

/// `Ok` if `candidate` is `expected` (compared in constant time), else
/// [`ErrorKind::VerifyFailed`] saying whether the length or the content
/// differs.
pub(crate) fn check_mac(expected: &Mac, candidate: &[u8]) -> Result<()> {
    if expected.matches(candidate) {
        Ok(())
    } else if candidate.len() != expected.len() {
        Err(Error::new(
            ErrorKind::VerifyFailed,
            format!(
                "MAC verification failed: the MAC has {} bytes, HMAC-{} has {}",
                candidate.len(),
                expected_name(expected),
                expected.len()
            ),
        ))
    } else {
        Err(Error::new(
            ErrorKind::VerifyFailed,
            "MAC verification failed: the MAC does not match",
        ))
    }
}

fn expected_name(mac: &Mac) -> &'static str {
    match mac.len() {
        32 => "SHA256",
        48 => "SHA384",
        _ => "SHA512",
    }
}

/// An HMAC computed over data that arrives in pieces.
///
/// [`finish`](HmacStream::finish) and
/// [`finish_verify`](HmacStream::finish_verify) return the stream to its
/// keyed start, so one stream serves many messages under the same key. All
/// state is wiped when the stream is dropped.
///
/// The state lives on the heap, so moving a stream copies a pointer, never
/// the keyed state.
pub struct HmacStream(Box<StreamState>);

/// The keyed start and the running state of a stream.
#[derive(Clone)]
struct StreamState {
    // Zeroed whole after the drop, the unused tail of a smaller hash's
    // state included.
    keyed: Wiped<State>,
    running: Wiped<State>,
}

impl HmacStream {
    /// A stream keyed with `key` (any length, including 0).
    pub fn new(alg: HashAlg, key: &[u8]) -> HmacStream {
        HmacStream(scrubbed_op(Op::Stream, alg, || {
            let keyed = State::new(alg, key);
            Box::new(StreamState {
                running: Wiped::new(keyed.clone()),
                keyed: Wiped::new(keyed),
            })
        }))
    }

    /// The algorithm of this stream.
    pub fn alg(&self) -> HashAlg {
        self.0.keyed.alg()
    }

    /// Feeds `data` to the MAC.
    pub fn update(&mut self, data: &[u8]) {
        let alg = self.alg();
        scrubbed_op(Op::Stream, alg, || self.0.running.update(data));
    }

    /// The MAC of everything fed since the last finish; the stream starts
    /// over under the same key.
    pub fn finish(&mut self) -> Mac {
        let alg = self.alg();
        let state = &mut *self.0;
        scrubbed_op(Op::Stream, alg, || {
            std::mem::replace(&mut *state.running, (*state.keyed).clone()).finalize()
        })
    }

    /// Checks `mac` against [`finish`](HmacStream::finish) in constant time;
    /// the stream starts over either way.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] if it does not match or has the wrong
    /// length.
    pub fn finish_verify(&mut self, mac: &[u8]) -> Result<()> {
        check_mac(&self.finish(), mac)
    }
}

impl Clone for HmacStream {
    fn clone(&self) -> HmacStream {
        HmacStream(scrubbed_op(Op::Stream, self.alg(), || {
            Box::new((*self.0).clone())
        }))
    }
}

impl fmt::Debug for HmacStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacStream({})", self.alg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let mac = hmac(HashAlg::Sha256, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac.to_hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn stream_resets_after_finish() {
        let mut stream = HmacStream::new(HashAlg::Sha512, b"k");
        stream.update(b"ab");
        stream.update(b"c");
        let first = stream.finish();
        assert_eq!(first, hmac(HashAlg::Sha512, b"k", b"abc"));
        stream.update(b"abc");
        assert!(stream.finish_verify(first.as_bytes()).is_ok());
        assert_eq!(
            stream
                .finish_verify(&first.as_bytes()[..63])
                .unwrap_err()
                .kind(),
            ErrorKind::VerifyFailed
        );
    }
}
