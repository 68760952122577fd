/// <reference types="node" />
// Type declarations for the codomyrmex_keys Node.js bindings.

/** Bytes in: a Buffer, any Uint8Array or other ArrayBuffer view, an ArrayBuffer, or a string (encoded as UTF-8). */
export type BinaryLike = string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

/** Hash algorithms (the C type codomyrmex_hash_alg). */
export declare const HashAlg: {
  readonly SHA256: 1;
  readonly SHA384: 2;
  readonly SHA512: 3;
};
export type HashAlgValue = (typeof HashAlg)[keyof typeof HashAlg];

/**
 * An algorithm argument: a HashAlg value, another number (reported as
 * UnsupportedAlgorithmError unless the library knows it), or a name such as
 * 'sha256', 'SHA-384', 'sha_512' (any letter case).
 */
export type Algorithm = HashAlgValue | number | string;

/** The status codes of the C contract (codomyrmex_status). */
export declare const Status: {
  readonly OK: 0;
  readonly NULL_POINTER: 1;
  readonly INVALID_ARGUMENT: 2;
  readonly INVALID_KEY_ID: 3;
  readonly UNSUPPORTED_ALGORITHM: 4;
  readonly BUFFER_TOO_SMALL: 5;
  readonly NOT_FOUND: 6;
  readonly ALREADY_EXISTS: 7;
  readonly VERIFY_FAILED: 8;
  readonly IO: 9;
  readonly INSECURE_PERMISSIONS: 10;
  readonly CORRUPT: 11;
  readonly INTERNAL: 12;
};
export type StatusValue = (typeof Status)[keyof typeof Status];

/** The name of a status, as `CodomyrmexError.code` carries it. */
export type StatusCode =
  | 'CODOMYRMEX_OK'
  | 'CODOMYRMEX_ERR_NULL_POINTER'
  | 'CODOMYRMEX_ERR_INVALID_ARGUMENT'
  | 'CODOMYRMEX_ERR_INVALID_KEY_ID'
  | 'CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM'
  | 'CODOMYRMEX_ERR_BUFFER_TOO_SMALL'
  | 'CODOMYRMEX_ERR_NOT_FOUND'
  | 'CODOMYRMEX_ERR_ALREADY_EXISTS'
  | 'CODOMYRMEX_ERR_VERIFY_FAILED'
  | 'CODOMYRMEX_ERR_IO'
  | 'CODOMYRMEX_ERR_INSECURE_PERMISSIONS'
  | 'CODOMYRMEX_ERR_CORRUPT'
  | 'CODOMYRMEX_ERR_INTERNAL'
  | 'CODOMYRMEX_UNKNOWN_STATUS';

/** The longest digest of any algorithm (SHA-512), in bytes. */
export declare const MAX_DIGEST_LEN: 64;
/** The largest key the key manager stores, in bytes. */
export declare const MAX_KEY_LEN: 65536;
/** The longest key id, in bytes. */
export declare const MAX_KEY_ID_LEN: 128;
/** Bytes a tagged MAC adds to the HMAC (format byte and 4-byte version). */
export declare const TAG_OVERHEAD: 5;
/** The file the native library was loaded from. */
export declare const libraryPath: string;

// ---------------------------------------------------------------------------
// Errors

/** The name Node gives a system error number, as `err.code` of its fs errors: 'EACCES', 'ENOENT'. */
export type ErrnoCode = `E${string}`;

/**
 * An error reported by codomyrmex_keys: `status` is the C status number,
 * `statusName` its name, `message` the library's one-line explanation
 * (never key material).
 *
 * When the operating system was behind the failure, the error carries its
 * errno as Node's own fs errors do: `errno` is negative (-13) and `code` is
 * its name ('EACCES'). Otherwise `errno` is undefined and `code` equals
 * `statusName`.
 */
export declare class CodomyrmexError extends Error {
  /** `osError`: the positive errno the library reported (codomyrmex_last_os_error), 0 for none. */
  constructor(status: number, message?: string, osError?: number);
  readonly status: number;
  readonly statusName: StatusCode;
  readonly code: StatusCode | ErrnoCode;
  readonly errno?: number;
}
export declare class NullPointerError extends CodomyrmexError {}
export declare class InvalidArgumentError extends CodomyrmexError {}
export declare class InvalidKeyIdError extends CodomyrmexError {}
export declare class UnsupportedAlgorithmError extends CodomyrmexError {}
export declare class BufferTooSmallError extends CodomyrmexError {}
export declare class NotFoundError extends CodomyrmexError {}
export declare class AlreadyExistsError extends CodomyrmexError {}
export declare class VerifyFailedError extends CodomyrmexError {}
export declare class IoError extends CodomyrmexError {}
export declare class InsecurePermissionsError extends CodomyrmexError {}
export declare class CorruptError extends CodomyrmexError {}
export declare class InternalError extends CodomyrmexError {}

// ---------------------------------------------------------------------------
// Library-wide functions

/** The library's version, e.g. '1.0.0'. */
export declare function version(): string;
/** The name of a status value; 'CODOMYRMEX_UNKNOWN_STATUS' for any other number. */
export declare function statusName(status: number): StatusCode;
/** This thread's last error message from the library ('' if there was none). */
export declare function lastErrorMessage(): string;
/** The errno behind this thread's last failure, positive as in `os.constants.errno`; 0 if none. */
export declare function lastOsError(): number;
/** `length` bytes from the operating system's CSPRNG. */
export declare function randomBytes(length: number): Buffer;
/** Overwrites the bytes with zeros in a way the compiler cannot remove. null/undefined do nothing. */
export declare function secureZero(buf: ArrayBufferView | ArrayBuffer | null | undefined): void;

// ---------------------------------------------------------------------------
// Algorithms

/** Parses 'sha256', 'sha384', 'sha512' in any letter case, also with '-' or '_' after 'sha'. */
export declare function hashAlgFromName(name: string): HashAlgValue;
/** Digest (and HMAC, PRK) length of `alg` in bytes: 32, 48 or 64. */
export declare function digestLength(alg: Algorithm): 32 | 48 | 64;

// ---------------------------------------------------------------------------
// HMAC

/** HMAC-`alg` of `data` under `key` (any length, empty included). */
export declare function hmac(alg: Algorithm, key: BinaryLike, data: BinaryLike): Buffer;
/** Checks `mac` in constant time; throws VerifyFailedError on a mismatch or a wrong length. */
export declare function hmacVerify(alg: Algorithm, key: BinaryLike, data: BinaryLike, mac: BinaryLike): void;

/** A streaming HMAC. `finish()` and `finishVerify()` reset it to its keyed start. */
export declare class Hmac implements Disposable {
  constructor(alg: Algorithm, key: BinaryLike);
  /** Feeds `data`; returns this stream. */
  update(data: BinaryLike): this;
  /** The MAC of everything fed since the start or the last finish; resets the stream. */
  finish(): Buffer;
  /** Checks `mac` against everything fed; resets the stream; throws VerifyFailedError on a mismatch. */
  finishVerify(mac: BinaryLike): void;
  /** Whether close() was called. */
  readonly closed: boolean;
  /** Wipes and releases the stream; later calls throw NullPointerError. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

// ---------------------------------------------------------------------------
// HKDF

/**
 * HKDF-`alg`: `length` bytes (1 to 255 × digest length) from `ikm`, `salt`
 * (null/undefined: none) and `info` (null/undefined: empty). For
 * high-entropy input only; not a password hash.
 */
export declare function hkdf(
  alg: Algorithm,
  ikm: BinaryLike,
  salt: BinaryLike | null | undefined,
  info: BinaryLike | null | undefined,
  length: number,
): Buffer;
/** HKDF-Extract: the pseudorandom key of `ikm` under `salt` (null/undefined: none). */
export declare function hkdfExtract(alg: Algorithm, salt: BinaryLike | null | undefined, ikm: BinaryLike): Buffer;
/** HKDF-Expand: `length` bytes from `prk` (at least digest length bytes) and `info`. */
export declare function hkdfExpand(
  alg: Algorithm,
  prk: BinaryLike,
  info: BinaryLike | null | undefined,
  length: number,
): Buffer;

// ---------------------------------------------------------------------------
// Key manager

/** A key directory path: a string, a Buffer of path bytes, or a file: URL. */
export type PathLike = string | Uint8Array | URL;

/**
 * Options of `KeyManager.openWith`; a field left out keeps the library's
 * default.
 */
export interface OpenOptions {
  /** Every write throws InvalidArgumentError and touches nothing; opening creates nothing. */
  readOnly?: boolean;
  /** A mounted source also trusts files this uid owns, besides root and this user. */
  trustedUid?: number;
  /** Writers wait at most this long for another writer's lock (default 30000; 0: forever), then IoError 'ETIMEDOUT'. */
  lockTimeoutMs?: number;
  /** Seal every file written under the key-encryption key in this file (32 bytes, private); read sealed files with it. */
  kekFile?: PathLike;
  /** As kekFile, from the systemd credential `$CREDENTIALS_DIRECTORY/<name>`. */
  kekCredential?: string;
  /** A key file that is not sealed is CorruptError. */
  requireSealed?: boolean;
  /**
   * etcd: each request (connecting, failing over between members, retrying
   * included) takes at most this long (default 5000; at least 1, 0 is
   * InvalidArgumentError), then IoError naming every endpoint tried.
   */
  timeoutMs?: number;
  /** etcd: reach the members over TLS (https). */
  tls?: EtcdTls;
  /** etcd: authenticate with a user name and a password file. */
  auth?: EtcdAuth;
}

/** The `tls` open option of an etcd source. */
export interface EtcdTls {
  /** PEM CA certificates the members' certificates must chain to (left out: the system's bundle, or $SSL_CERT_FILE). */
  caFile?: PathLike | null;
  /** A client certificate (PEM), for clusters that require one; with `keyFile` or not at all (else InvalidArgumentError). */
  certFile?: PathLike | null;
  /** The client certificate's private key (PEM): a regular file of yours or root's, no access for group or others. */
  keyFile?: PathLike | null;
}

/** The `auth` open option of an etcd source. */
export interface EtcdAuth {
  /** The etcd user (not empty, else InvalidArgumentError). */
  user: string;
  /**
   * The file holding the password (one trailing newline ignored): a regular
   * file of yours or root's, no access for group or others; read again
   * whenever a new auth token is needed.
   */
  passwordFile: PathLike;
}

/**
 * An open key source: a private key directory or a mounted one. Key ids
 * are 1 to 128 characters from [A-Za-z0-9._-], not starting with '.'. One
 * KeyManager may be used from many places at once; close it when done.
 */
export declare class KeyManager implements Disposable {
  private constructor();
  /** Opens (creating it if absent) the key directory; without `dir`, `<tmp>/codomyrmex_keys`. */
  static open(dir?: PathLike | null): KeyManager;
  /**
   * Opens the key source `location`: null/undefined for the default
   * directory, a path, 'mounted:<dir>' (read-only; a Kubernetes Secret
   * volume, Docker secrets, systemd credentials), or
   * 'etcd://host1:port1,host2:port2[/prefix]' (a key set shared by many
   * hosts in an etcd cluster; see timeoutMs, tls, auth). Another 'scheme:'
   * prefix throws InvalidArgumentError.
   */
  static openWith(location?: PathLike | null, options?: OpenOptions | null): KeyManager;
  /** Whether close() was called. */
  readonly closed: boolean;
  /** Releases the handle; later calls throw NullPointerError. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
  /** The directory's path, as resolved when it was opened. */
  readonly dir: string;

  /** Stores `key` (1 to 65536 bytes): version 1 of a new id, else the next version. */
  store(keyId: string, key: BinaryLike): void;
  /** Like store, but throws AlreadyExistsError if the key exists. */
  create(keyId: string, key: BinaryLike): void;
  /** Creates a random key of `length` bytes (default 32); throws AlreadyExistsError if it exists. */
  generate(keyId: string, length?: number): void;
  /** A copy of the current key; wipe it with secureZero when done. */
  get(keyId: string): Buffer;
  /** Whether the key exists. */
  exists(keyId: string): boolean;
  /** Removes the key and all its versions; throws NotFoundError if absent. */
  delete(keyId: string): void;
  /** All key ids, sorted bytewise ascending. */
  list(): string[];
  /** Stores `newKey` as the next version; returns the key it replaced, or null if there was none. */
  rotate(keyId: string, newKey: BinaryLike): Buffer | null;

  /** HMAC-`alg` of `data` under the current key, which never leaves the library. */
  hmac(keyId: string, alg: Algorithm, data: BinaryLike): Buffer;
  /** Checks `mac` in constant time; throws VerifyFailedError on a mismatch. */
  hmacVerify(keyId: string, alg: Algorithm, data: BinaryLike, mac: BinaryLike): void;
  /** HKDF-`alg` with the current key as input key material. */
  derive(
    keyId: string,
    alg: Algorithm,
    salt: BinaryLike | null | undefined,
    info: BinaryLike | null | undefined,
    length: number,
  ): Buffer;

  /** The current version number (1 for a key never rotated). */
  currentVersion(keyId: string): number;
  /** A copy of version `version` (0: current); NotFoundError if unknown or pruned. */
  getVersion(keyId: string, version: number): Buffer;
  /** The kept version numbers, ascending; the last is current. */
  listVersions(keyId: string): number[];
  /** Removes all but the newest `keepNewest` (at least 1) versions. */
  prune(keyId: string, keepNewest: number): void;
  /** HMAC-`alg` of `data` under version `version` (0: current). */
  hmacVersion(keyId: string, version: number, alg: Algorithm, data: BinaryLike): Buffer;
  /** HKDF-`alg` with version `version` (0: current) as input key material. */
  deriveVersion(
    keyId: string,
    version: number,
    alg: Algorithm,
    salt: BinaryLike | null | undefined,
    info: BinaryLike | null | undefined,
    length: number,
  ): Buffer;
  /** A tagged MAC: 0x01 || version (4 bytes, big-endian) || HMAC under the current version. */
  hmacTagged(keyId: string, alg: Algorithm, data: BinaryLike): Buffer;
  /** Checks a tagged MAC with the version it names; VerifyFailedError on a mismatch, NotFoundError if no such key. */
  hmacVerifyTagged(keyId: string, alg: Algorithm, data: BinaryLike, tag: BinaryLike): void;

  /** Adds `key` as a staged version (verified, not yet used to sign); returns its number. */
  stage(keyId: string, key: BinaryLike): number;
  /** Like stage with a random key of `length` bytes (default 32); returns its number. */
  stageGenerate(keyId: string, length?: number): number;
  /** Makes the staged `version` current; NotFoundError unless it is staged. */
  promote(keyId: string, version: number): void;
  /** Seals every plain file under the manager's KEK; returns how many files were rewritten. */
  sealAll(): number;
  /** Loads every version of the key into a Keyring for MACs with `alg`; refreshMs 0 (default): only refresh() reloads. */
  load(keyId: string, alg: Algorithm, refreshMs?: number): Keyring;
}

/**
 * Every version of one key in memory, for MACs that read no file: the same
 * bytes as the key manager's hmac and hmacTagged. Usable after its
 * KeyManager is closed; close it when done.
 */
export declare class Keyring implements Disposable {
  private constructor();
  /** The id of the key it holds. */
  readonly keyId: string;
  /** The algorithm of every MAC it makes and checks. */
  readonly alg: HashAlgValue;
  /** Whether close() was called. */
  readonly closed: boolean;
  /** Wipes the keys and releases the keyring; later calls throw NullPointerError. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
  /** Reloads now if the key changed in the store; returns whether the keys served changed. */
  refresh(): boolean;
  /** The version MACs are made with now. */
  currentVersion(): number;
  /** HMAC of `data` with the current version. */
  hmac(data: BinaryLike): Buffer;
  /** Checks `mac` in constant time; throws VerifyFailedError on a mismatch. */
  hmacVerify(data: BinaryLike, mac: BinaryLike): void;
  /** A tagged MAC of `data` with the current version. */
  hmacTagged(data: BinaryLike): Buffer;
  /** Checks a tagged MAC with the version it names (any version held); VerifyFailedError otherwise. */
  hmacVerifyTagged(data: BinaryLike, tag: BinaryLike): void;
}
