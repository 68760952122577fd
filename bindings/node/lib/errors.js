'use strict';
// Status codes of the C contract and the errors they become.

const { getSystemErrorName } = require('node:util');

/** The status codes of the C contract (codomyrmex_status); values are permanent. */
const Status = Object.freeze({
  OK: 0,
  NULL_POINTER: 1,
  INVALID_ARGUMENT: 2,
  INVALID_KEY_ID: 3,
  UNSUPPORTED_ALGORITHM: 4,
  BUFFER_TOO_SMALL: 5,
  NOT_FOUND: 6,
  ALREADY_EXISTS: 7,
  VERIFY_FAILED: 8,
  IO: 9,
  INSECURE_PERMISSIONS: 10,
  CORRUPT: 11,
  INTERNAL: 12,
});

const NAMES = Object.freeze(
  Object.fromEntries(
    Object.entries(Status).map(([k, v]) => [v, v === 0 ? 'CODOMYRMEX_OK' : `CODOMYRMEX_ERR_${k}`]),
  ),
);

/** `CODOMYRMEX_ERR_NOT_FOUND` for 6, `CODOMYRMEX_UNKNOWN_STATUS` for a value that is no status. */
function codeOf(status) {
  return NAMES[status] ?? 'CODOMYRMEX_UNKNOWN_STATUS';
}

/** 'EACCES' for 13, as Node names system errors; null for 0 or an errno Node does not know. */
function errnoName(osError) {
  if (!Number.isInteger(osError) || osError <= 0) return null;
  const name = getSystemErrorName(-osError);
  return /^E[A-Z0-9]+$/.test(name) ? name : null;
}

/**
 * An error reported by codomyrmex_keys. `status` is the C status number,
 * `statusName` its name (e.g. 'CODOMYRMEX_ERR_NOT_FOUND'), `message` the
 * library's one-line explanation (never key material).
 *
 * When the operating system was behind the failure (`osError`, the
 * positive errno codomyrmex_last_os_error reports), the error carries it
 * as Node's own fs errors do: `errno` is its negative (-13) and `code` its
 * name ('EACCES'; `statusName` for an errno Node cannot name). Otherwise
 * `errno` is undefined and `code` is `statusName`.
 */
class CodomyrmexError extends Error {
  constructor(status, message, osError = 0) {
    super(message || codeOf(status));
    this.status = status;
    this.statusName = codeOf(status);
    this.code = errnoName(osError) ?? this.statusName;
    if (Number.isInteger(osError) && osError > 0) this.errno = -osError;
  }

  get name() {
    return this.constructor.name;
  }
}

function subclass(name) {
  // A named class per status, so `instanceof` and `err.name` both work.
  const cls = { [name]: class extends CodomyrmexError {} }[name];
  return cls;
}

const NullPointerError = subclass('NullPointerError');
const InvalidArgumentError = subclass('InvalidArgumentError');
const InvalidKeyIdError = subclass('InvalidKeyIdError');
const UnsupportedAlgorithmError = subclass('UnsupportedAlgorithmError');
const BufferTooSmallError = subclass('BufferTooSmallError');
const NotFoundError = subclass('NotFoundError');
const AlreadyExistsError = subclass('AlreadyExistsError');
const VerifyFailedError = subclass('VerifyFailedError');
const IoError = subclass('IoError');
const InsecurePermissionsError = subclass('InsecurePermissionsError');
const CorruptError = subclass('CorruptError');
const InternalError = subclass('InternalError');

const BY_STATUS = new Map([
  [Status.NULL_POINTER, NullPointerError],
  [Status.INVALID_ARGUMENT, InvalidArgumentError],
  [Status.INVALID_KEY_ID, InvalidKeyIdError],
  [Status.UNSUPPORTED_ALGORITHM, UnsupportedAlgorithmError],
  [Status.BUFFER_TOO_SMALL, BufferTooSmallError],
  [Status.NOT_FOUND, NotFoundError],
  [Status.ALREADY_EXISTS, AlreadyExistsError],
  [Status.VERIFY_FAILED, VerifyFailedError],
  [Status.IO, IoError],
  [Status.INSECURE_PERMISSIONS, InsecurePermissionsError],
  [Status.CORRUPT, CorruptError],
  [Status.INTERNAL, InternalError],
]);

/** The error object for a nonzero status: the subclass for it, or CodomyrmexError; `osError` as the constructor's. */
function errorFor(status, message, osError = 0) {
  const Cls = BY_STATUS.get(status) ?? CodomyrmexError;
  return new Cls(status, message, osError);
}

module.exports = {
  Status,
  codeOf,
  errorFor,
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
};
