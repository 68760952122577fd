//! One key of a store, for reading a version or using it without its bytes
//! leaving the library.

use super::KeyManager;
use super::backend::KeyView;
use super::tagged::{TaggedHmacStream, TaggedMac, TaggedVerifier, split_tag};
use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::hkdf::{check_okm_len, hkdf_derive};
use crate::hmac::{HmacStream, Mac, hmac, hmac_verify};
use crate::secret::SecretBytes;
use std::num::NonZeroU32;

/// How often a version that vanished while it was read is looked up again.
const RESOLVE_ATTEMPTS: usize = 8;

/// Which version of a key a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    /// The current version: the newest that is not staged.
    #[default]
    Current,
    /// The version with this number (current, retained or staged).
    Number(NonZeroU32),
}

/// The versions a key has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// The current version.
    pub current: NonZeroU32,
    /// Older versions kept for verification, ascending.
    pub retained: Vec<NonZeroU32>,
    /// Versions accepted for verification but not yet used to make MACs,
    /// ascending.
    pub staged: Vec<NonZeroU32>,
}

impl Versions {
    /// Every version, ascending.
    pub fn all(&self) -> Vec<NonZeroU32> {
        let mut all = self.retained.clone();
        all.push(self.current);
        all.extend_from_slice(&self.staged);
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// A key of a [`KeyManager`], from [`KeyManager::key`]: reads one of its
/// versions, or computes with it (HMAC, HKDF, tagged MACs) so that the key
/// bytes never leave the library. Every call reads the store afresh.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    km: &'a KeyManager,
    id: &'a str,
    version: Version,
}

impl<'a> Key<'a> {
    pub(super) fn new(km: &'a KeyManager, id: &'a str) -> Key<'a> {
        Key {
            km,
            id,
            version: Version::Current,
        }
    }

    /// The key id.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// This key with `version` chosen for [`get`](Key::get),
    /// [`hmac`](Key::hmac), [`hmac_verify`](Key::hmac_verify),
    /// [`derive`](Key::derive) and the making of tagged MACs (verifying a
    /// tagged MAC always uses the version the tag names).
    pub fn at(self, version: Version) -> Key<'a> {
        Key { version, ..self }
    }

    /// The bytes of the chosen version.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key does not exist or the version was
    /// never made or has been pruned; see [`KeyManager::get`] for the rest.
    pub fn get(&self) -> Result<SecretBytes> {
        if self.version == Version::Current {
            return self
                .km
                .backend()
                .load_current(self.id)?
                .ok_or_else(|| self.not_found());
        }
        let (_, bytes) = self.resolve(self.version)?;
        bytes.ok_or_else(|| self.no_version(self.version))
    }

    /// The number of the current version (1 for a key never rotated).
    ///
    /// # Errors
    /// As [`Key::get`].
    pub fn current_version(&self) -> Result<NonZeroU32> {
        Ok(self.versions()?.current)
    }

    /// The versions the key has. A store of sealed files answers without
    /// its KEK.
    ///
    /// # Errors
    /// As [`Key::get`].
    pub fn versions(&self) -> Result<Versions> {
        let view = self
            .km
            .backend()
            .versions(self.id)?
            .ok_or_else(|| self.not_found())?;
        let all = |numbers: &[u32]| numbers.iter().map(|&v| super::nonzero(v)).collect();
        Ok(Versions {
            current: super::nonzero(view.current),
            retained: all(&view.retained),
            staged: all(&view.staged),
        })
    }

    /// HMAC of `data` under the chosen version.
    ///
    /// # Errors
    /// As [`Key::get`].
    pub fn hmac(&self, alg: HashAlg, data: &[u8]) -> Result<Mac> {
        Ok(hmac(alg, &self.get()?, data))
    }

    /// Checks `mac` against the HMAC of `data` under the chosen version, in
    /// constant time in the MAC's content.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] if it does not match; as [`Key::get`]
    /// otherwise.
    pub fn hmac_verify(&self, alg: HashAlg, data: &[u8], mac: &[u8]) -> Result<()> {
        hmac_verify(alg, &self.get()?, data, mac)
    }

    /// HKDF with the chosen version as input key material: fills `okm`
    /// (1 to 255 × HashLen bytes).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an out-of-range `okm` length
    /// (checked before the store is read); as [`Key::get`] otherwise. `okm`
    /// is untouched on error.
    pub fn derive(&self, alg: HashAlg, salt: &[u8], info: &[u8], okm: &mut [u8]) -> Result<()> {
        check_okm_len(alg, okm.len())?;
        hkdf_derive(alg, &self.get()?, salt, info, okm)
    }

    /// A tagged MAC of `data`: `0x01 || version (4 bytes, big-endian) ||
    /// HMAC`, made with the chosen version (the current one by default). It
    /// keeps verifying with [`Key::hmac_verify_tagged`] after rotations,
    /// until that version is pruned.
    ///
    /// # Errors
    /// As [`Key::get`].
    pub fn hmac_tagged(&self, alg: HashAlg, data: &[u8]) -> Result<TaggedMac> {
        let mut stream = self.tagged_stream(alg)?;
        stream.update(data);
        Ok(stream.finish())
    }

    /// [`Key::hmac_tagged`] for data that arrives in pieces: a stream keyed
    /// with the chosen version as it is now.
    ///
    /// # Errors
    /// As [`Key::get`].
    pub fn tagged_stream(&self, alg: HashAlg) -> Result<TaggedHmacStream> {
        let (view, key) = self.resolve(self.version)?;
        let key = key.ok_or_else(|| self.no_version(self.version))?;
        let version = match self.version {
            Version::Current => view.current,
            Version::Number(number) => number.get(),
        };
        Ok(TaggedHmacStream::new(version, HmacStream::new(alg, &key)))
    }

    /// Checks a tagged MAC against `data` with the version it names, in
    /// constant time in the MAC.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] for a bad format byte, a wrong length, an
    /// unknown or pruned version (0 included) or a MAC mismatch;
    /// [`ErrorKind::NotFound`] if the key itself does not exist; otherwise
    /// as [`Key::get`].
    pub fn hmac_verify_tagged(&self, alg: HashAlg, data: &[u8], tag: &[u8]) -> Result<()> {
        let mut verifier = self.tagged_verifier(alg, tag)?;
        verifier.update(data);
        verifier.finish()
    }

    /// [`Key::hmac_verify_tagged`] for data that arrives in pieces. A
    /// malformed tag or an unknown version is reported by
    /// [`TaggedVerifier::finish`], as a mismatch would be.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key itself does not exist; otherwise
    /// as [`Key::get`].
    pub fn tagged_verifier(&self, alg: HashAlg, tag: &[u8]) -> Result<TaggedVerifier> {
        let check = match split_tag(tag, alg) {
            Ok((number, mac)) => {
                let key = match NonZeroU32::new(number) {
                    Some(number) => self.resolve(Version::Number(number))?.1,
                    // The key must exist all the same: NotFound otherwise.
                    None => self.view().map(|_| None)?,
                };
                key.map(|key| (HmacStream::new(alg, &key), mac))
                    .ok_or_else(|| format!("key '{}' has no version {number}", self.id))
            }
            Err(why) => self.view().map(|_| Err(why))?,
        };
        Ok(TaggedVerifier::new(check))
    }

    /// The key as the store has it now.
    fn view(&self) -> Result<KeyView> {
        self.km
            .backend()
            .load(self.id)?
            .ok_or_else(|| self.not_found())
    }

    fn not_found(&self) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("key '{}' not found in '{}'", self.id, self.km.location()),
        )
    }

    /// The key as the store has it now and the bytes of `version` in it
    /// (`None`: there is no such version). A version that the store listed
    /// but that vanished before it was read (pruned, or replaced by an
    /// orchestrator's update) makes it read the key again.
    fn resolve(&self, version: Version) -> Result<(KeyView, Option<SecretBytes>)> {
        for _ in 0..RESOLVE_ATTEMPTS {
            let view = self.view()?;
            let number = match version {
                Version::Number(number) if number.get() != view.current => number.get(),
                _ => {
                    let bytes = view.bytes.clone();
                    return Ok((view, Some(bytes)));
                }
            };
            if !view.has(number) {
                return Ok((view, None));
            }
            if let Some(bytes) = self.km.backend().read_version(self.id, &view, number)? {
                return Ok((view, Some(bytes)));
            }
        }
        Ok((self.view()?, None))
    }

    fn no_version(&self, version: Version) -> Error {
        let number = match version {
            Version::Current => 0,
            Version::Number(number) => number.get(),
        };
        Error::new(
            ErrorKind::NotFound,
            format!(
                "key '{}' has no version {number} (never made, or pruned)",
                self.id
            ),
        )
    }
}

impl From<NonZeroU32> for Version {
    fn from(number: NonZeroU32) -> Version {
        Version::Number(number)
    }
}
