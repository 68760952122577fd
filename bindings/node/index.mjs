// ES module entry point: the same objects as the CommonJS module (one copy
// of the library and of every class, whichever way the package is loaded).
import cjs from './index.js';

export const {
  HashAlg,
  Status,
  MAX_DIGEST_LEN,
  MAX_KEY_LEN,
  MAX_KEY_ID_LEN,
  TAG_OVERHEAD,
  libraryPath,
  version,
  statusName,
  lastErrorMessage,
  lastOsError,
  randomBytes,
  secureZero,
  hashAlgFromName,
  digestLength,
  hmac,
  hmacVerify,
  Hmac,
  hkdf,
  hkdfExtract,
  hkdfExpand,
  KeyManager,
  Keyring,
  CodomyrmexError,
  NullPointerError,
  InvalidArgumentError,
  InvalidKeyIdError,
  UnsupportedAlgorithmError,
  BufferTooSmallError,
  NotFoundError,
  AlreadyExistsError,
  VerifyFailedError,
  IoError,
  InsecurePermissionsError,
  CorruptError,
  InternalError,
} = cjs;

export default cjs;
