//! How a source keeps key bytes in a file: plain (the original layout, raw
//! bytes) or sealed under a key-encryption key (see [`crate::seal`]).

use super::MAX_KEY_LEN;
use super::options::{KekSource, OpenOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::seal::{self, Kek};
use crate::secret::SecretBytes;

/// The files of a source as they are read and written.
#[derive(Debug, Default)]
pub(crate) struct Codec {
    /// The KEK new files are sealed under; `None` writes plain files.
    kek: Option<Kek>,
    /// Earlier KEKs still accepted on reading (a rewrap in progress).
    previous: Vec<Kek>,
    /// Refuse plain files on reading.
    require_sealed: bool,
}

/// What a stored file held.
pub(crate) struct Decoded {
    /// The payload: a key, or a version record.
    pub bytes: SecretBytes,
    /// The version a sealed file is authenticated for; `None` for a plain
    /// file.
    pub sealed_as: Option<u32>,
}

impl Codec {
    /// The codec `options` ask for, with its KEKs loaded (once, here).
    pub fn new(options: &OpenOptions) -> Result<Codec> {
        let load = |source: &KekSource| match source {
            KekSource::File(path) => Kek::load_file(path),
            KekSource::Credential(name) => Kek::load_credential(name),
        };
        Ok(Codec {
            kek: options.kek.as_ref().map(load).transpose()?,
            previous: options
                .previous_keks
                .iter()
                .map(load)
                .collect::<Result<_>>()?,
            require_sealed: options.require_sealed,
        })
    }

    /// Whether new files are sealed.
    pub fn seals(&self) -> bool {
        self.kek.is_some()
    }

    /// The file holding `payload` as version `version` of `id`: sealed
    /// under the KEK, or the payload itself.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for a plain payload that would read
    /// back as a sealed file (see [`Codec::check_storable`]).
    pub fn encode(&self, id: &str, version: u32, payload: &[u8]) -> Result<SecretBytes> {
        match &self.kek {
            Some(kek) => {
                let mut file = seal::seal(kek, id, version, payload)?;
                let sealed = SecretBytes::from_slice(&file);
                zeroize::Zeroize::zeroize(&mut file);
                Ok(sealed)
            }
            None => {
                self.check_storable(id, payload)?;
                Ok(SecretBytes::from_slice(payload))
            }
        }
    }

    /// Refuses a key that may one day be written as a plain key file but
    /// would not read back as itself: one that starts with the sealed-file
    /// magic, or with the magic with one byte altered (read as a damaged
    /// sealed file). The original layout has no room to mark a plain file,
    /// so such a key is kept only under a KEK. A random key is refused with
    /// a probability of about 2^-53.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for such a key when this codec writes
    /// plain files.
    pub fn check_storable(&self, id: &str, key: &[u8]) -> Result<()> {
        if self.seals() || !(seal::is_sealed(key) || seal::is_damaged_seal(key)) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "key '{id}' starts with the sealed-file magic (or nearly): written as a plain \
                 key file it would read as a sealed file; such a key can only be stored under a KEK"
            ),
        ))
    }

    /// Whether `file` must be rewritten to be sealed under the current KEK
    /// (it is plain, or sealed under a previous KEK).
    pub fn needs_sealing(&self, file: &[u8]) -> bool {
        match &self.kek {
            Some(kek) => !seal::is_sealed(file) || seal::kek_id_of(file) != Some(kek.id()),
            None => false,
        }
    }

    /// Reads a file of `id`: `version` is the version its name says it
    /// holds, `None` for a current key file (whose sealed header says it).
    /// `what` names the file in messages.
    pub fn decode(
        &self,
        id: &str,
        version: Option<u32>,
        file: SecretBytes,
        what: &str,
    ) -> Result<Decoded> {
        if seal::is_damaged_seal(&file) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{what} is a sealed file whose header is damaged"),
            ));
        }
        if !seal::is_sealed(&file) {
            if self.require_sealed {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("{what} is not sealed, and this key store requires sealed files"),
                ));
            }
            return Ok(Decoded {
                bytes: file,
                sealed_as: None,
            });
        }
        let in_context = |err: Error| Error::new(err.kind(), format!("{what}: {}", err.message()));
        let version = match version {
            Some(version) => version,
            None => seal::claimed_version(id, &file).map_err(in_context)?,
        };
        let kek = self.kek_for(&file);
        let bytes = seal::unseal(kek, id, version, &file).map_err(in_context)?;
        Ok(Decoded {
            bytes,
            sealed_as: Some(version),
        })
    }

    /// The version a current key file says it holds without unsealing it
    /// (so without the KEK): `None` for a plain file.
    pub fn claimed_version(&self, id: &str, file: &[u8]) -> Result<Option<u32>> {
        match seal::is_sealed(file) {
            true => seal::claimed_version(id, file).map(Some),
            false => Ok(None),
        }
    }

    /// Whether this codec holds the KEK the sealed `file` names.
    pub fn can_unseal(&self, file: &[u8]) -> bool {
        let named = seal::kek_id_of(file);
        self.previous
            .iter()
            .chain(self.kek.iter())
            .any(|kek| Some(kek.id()) == named)
    }

    /// The KEK to open `file` with: the one it names if this codec has it,
    /// else the current one (whose mismatch `unseal` reports by KEK id).
    fn kek_for(&self, file: &[u8]) -> Option<&Kek> {
        let named = seal::kek_id_of(file);
        self.previous
            .iter()
            .chain(self.kek.iter())
            .find(|kek| Some(kek.id()) == named)
            .or(self.kek.as_ref())
    }
}

/// Refuses a decoded key outside 1 to [`MAX_KEY_LEN`] bytes.
pub(crate) fn check_key_len(what: &str, bytes: &[u8]) -> Result<()> {
    if (1..=MAX_KEY_LEN).contains(&bytes.len()) {
        return Ok(());
    }
    let why = match bytes.len() {
        0 => "is empty".to_string(),
        len => format!("has {len} bytes, over the limit of {MAX_KEY_LEN}"),
    };
    Err(Error::new(ErrorKind::Corrupt, format!("{what} {why}")))
}
