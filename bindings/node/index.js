'use strict';
// Node.js bindings for codomyrmex_keys: a hardened key store, HMAC and HKDF
// over SHA-2. Every call is synchronous and runs on the calling thread, so
// the library's per-thread last error message is read right after the call
// that failed.

const { fileURLToPath } = require('node:url');
const { c, libraryPath } = require('./lib/native');
const errors = require('./lib/errors');
const { Handle, unclosedRegistry } = require('./lib/handle');

const { Status, errorFor, InvalidArgumentError, InvalidKeyIdError, NullPointerError, UnsupportedAlgorithmError } =
  errors;

/** Hash algorithms (codomyrmex_hash_alg). */
const HashAlg = Object.freeze({ SHA256: 1, SHA384: 2, SHA512: 3 });

/** The longest digest of any algorithm (SHA-512): a buffer this size holds any MAC. */
const MAX_DIGEST_LEN = 64;
/** The largest key the key manager stores (64 KiB). */
const MAX_KEY_LEN = 65536;
/** The longest key id, in bytes. */
const MAX_KEY_ID_LEN = 128;
/** Bytes a tagged MAC adds to the HMAC: format byte 0x01 and a 4-byte big-endian version. */
const TAG_OVERHEAD = 5;

const UINT32_MAX = 0xffffffff;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------
// Errors

/** This thread's last error message from the library ('' if none). */
function lastErrorMessage() {
  let buf = Buffer.alloc(256);
  let len = Number(c.last_error_message(buf, buf.length));
  if (len >= buf.length) {
    buf = Buffer.alloc(len + 1);
    len = Number(c.last_error_message(buf, buf.length));
  }
  return buf.toString('utf8', 0, Math.min(len, buf.length - 1));
}

/** The errno behind this thread's last failure, a positive number as in os.constants.errno; 0 if none. */
function lastOsError() {
  return c.last_os_error();
}

/** Throws the error for a nonzero status, with the message and errno of the call that just failed. */
function check(status) {
  if (status !== Status.OK) {
    const err = errorFor(status, lastErrorMessage(), lastOsError());
    Error.captureStackTrace(err, check);
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Arguments

/**
 * Collects the byte views of one call's inputs. Inputs given as strings are
 * encoded into temporary Buffers; `wipe()` zeroes those copies afterwards,
 * since a string may carry key material.
 */
class Inputs {
  constructor() {
    this.temporaries = [];
  }

  /** A Uint8Array view of `value` (string as UTF-8, any ArrayBufferView, ArrayBuffer). */
  bytes(value, what, { optional = false } = {}) {
    if (value === undefined || value === null) {
      if (optional) return EMPTY;
      throw new TypeError(`${what} is required (a Buffer, Uint8Array or string)`);
    }
    if (value instanceof Uint8Array) return value;
    if (typeof value === 'string') {
      const copy = Buffer.from(value, 'utf8');
      this.temporaries.push(copy);
      return copy;
    }
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
      return new Uint8Array(value);
    }
    throw new TypeError(`${what} must be a Buffer, Uint8Array, ArrayBuffer view, ArrayBuffer or string`);
  }

  wipe() {
    for (const t of this.temporaries) c.secure_zero(t, t.length);
    this.temporaries.length = 0;
  }
}

/** Runs `fn(inputs)` and wipes the temporary copies of string inputs afterwards. */
function withInputs(fn) {
  const inputs = new Inputs();
  try {
    return fn(inputs);
  } finally {
    inputs.wipe();
  }
}

/** A key id as a NUL-terminated Buffer; a NUL inside it would cut the id short in C, so it is refused here. */
function keyIdIn(keyId) {
  if (typeof keyId !== 'string') throw new TypeError('keyId must be a string');
  if (keyId.includes('\0')) {
    throw new InvalidKeyIdError(Status.INVALID_KEY_ID, `invalid key id ${JSON.stringify(keyId)}: it contains a NUL character`);
  }
  return Buffer.from(`${keyId}\0`, 'utf8');
}

/**
 * A path (or location) as a NUL-terminated Buffer, or null for the
 * library's default; `what` names it in errors.
 */
function pathIn(dir, what = 'key directory') {
  if (dir === undefined || dir === null) return null;
  let bytes;
  if (dir instanceof URL) bytes = Buffer.from(fileURLToPath(dir), 'utf8');
  else if (typeof dir === 'string') bytes = Buffer.from(dir, 'utf8');
  else if (dir instanceof Uint8Array) bytes = Buffer.from(dir);
  else throw new TypeError(`${what} must be a string, Buffer, URL, null or undefined`);
  if (bytes.includes(0)) {
    throw new InvalidArgumentError(Status.INVALID_ARGUMENT, `invalid ${what}: the path contains a NUL byte`);
  }
  return Buffer.concat([bytes, Buffer.from([0])]);
}

/** A name (a systemd credential) as a NUL-terminated Buffer. */
function nameIn(name, what) {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string`);
  if (name.includes('\0')) {
    throw new InvalidArgumentError(Status.INVALID_ARGUMENT, `invalid ${what} ${JSON.stringify(name)}: it contains a NUL character`);
  }
  return Buffer.from(`${name}\0`, 'utf8');
}

/** A boolean argument. */
function boolIn(value, what) {
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean`);
  return value;
}

/** An algorithm value: a HashAlg number, or a name such as 'sha256' or 'SHA-512'. */
function algIn(alg) {
  if (typeof alg === 'string') return hashAlgFromName(alg);
  if (typeof alg !== 'number') throw new TypeError("alg must be a HashAlg value or a name such as 'sha256'");
  if (!Number.isInteger(alg) || alg < 0 || alg > UINT32_MAX) {
    throw new UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, `unsupported algorithm value ${alg}`);
  }
  return alg;
}

/** A byte count or other size_t argument. */
function sizeIn(n, what) {
  if (typeof n !== 'number') throw new TypeError(`${what} must be a number`);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(Status.INVALID_ARGUMENT, `${what} must be a non-negative integer, got ${n}`);
  }
  return n;
}

/** A uint32_t argument (key versions). */
function u32In(n, what) {
  if (typeof n !== 'number') throw new TypeError(`${what} must be a number`);
  if (!Number.isInteger(n) || n < 0 || n > UINT32_MAX) {
    throw new InvalidArgumentError(Status.INVALID_ARGUMENT, `${what} must be an integer from 0 to ${UINT32_MAX}, got ${n}`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Outputs

/** Runs a (buf, cap, outLen) call with a buffer of `cap` bytes; returns the bytes written. */
function outputOf(cap, call) {
  const buf = Buffer.alloc(cap);
  const len = [0];
  check(call(buf, cap, len));
  return buf.subarray(0, Number(len[0]));
}

/**
 * Runs a (buf, cap, outLen) call whose output size is not known in advance:
 * asks for the size with (null, 0), then calls again with a buffer of that
 * size, again if it grew in between. Returns the bytes written.
 */
function sizedOutputOf(call) {
  let cap = 0;
  for (;;) {
    const buf = cap === 0 ? null : Buffer.alloc(cap);
    const len = [0];
    const status = call(buf, cap, len);
    if (status === Status.OK) return buf === null ? EMPTY : buf.subarray(0, Number(len[0]));
    if (status !== Status.BUFFER_TOO_SMALL) check(status);
    cap = Number(len[0]);
  }
}

// ---------------------------------------------------------------------------
// Library-wide functions

/** The library's version, e.g. '1.0.0'. */
function version() {
  return c.version();
}

/** The name of a status value, e.g. 'CODOMYRMEX_ERR_NOT_FOUND'; 'CODOMYRMEX_UNKNOWN_STATUS' for any other number. */
function statusName(status) {
  if (!Number.isInteger(status) || status < 0 || status > UINT32_MAX) return 'CODOMYRMEX_UNKNOWN_STATUS';
  return c.status_name(status);
}

/** `length` bytes from the operating system's CSPRNG. */
function randomBytes(length) {
  const buf = Buffer.alloc(sizeIn(length, 'length'));
  check(c.random_bytes(buf.length === 0 ? null : buf, buf.length));
  return buf;
}

/** Overwrites `buf` with zeros in a way the compiler cannot remove: use it on copies of keys when done. */
function secureZero(buf) {
  if (buf === undefined || buf === null) return;
  let view;
  if (buf instanceof Uint8Array) view = buf;
  else if (ArrayBuffer.isView(buf)) view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  else if (buf instanceof ArrayBuffer) view = new Uint8Array(buf);
  else throw new TypeError('secureZero takes a Buffer, Uint8Array, ArrayBuffer view or ArrayBuffer');
  if (view.length > 0) c.secure_zero(view, view.length);
}

// ---------------------------------------------------------------------------
// Algorithms

/** Parses 'sha256', 'sha384', 'sha512' in any letter case, also 'SHA-256' and 'sha_256'. */
function hashAlgFromName(name) {
  if (typeof name !== 'string') throw new TypeError('name must be a string');
  if (name.includes('\0')) {
    throw new UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, `unsupported algorithm name ${JSON.stringify(name)}`);
  }
  const out = [0];
  check(c.hash_alg_from_name(Buffer.from(`${name}\0`, 'utf8'), out));
  return out[0];
}

/** Digest (and HMAC) length of `alg` in bytes: 32, 48 or 64. Throws UnsupportedAlgorithmError for an unknown one. */
function digestLength(alg) {
  const value = algIn(alg);
  const n = Number(c.hash_digest_len(value));
  if (n === 0) throw new UnsupportedAlgorithmError(Status.UNSUPPORTED_ALGORITHM, `unsupported algorithm value ${value}`);
  return n;
}

// ---------------------------------------------------------------------------
// HMAC

/** HMAC-`alg` of `data` under `key` (any length, empty included). */
function hmac(alg, key, data) {
  const a = algIn(alg);
  return withInputs((inp) => {
    const k = inp.bytes(key, 'key');
    const d = inp.bytes(data, 'data');
    return outputOf(MAX_DIGEST_LEN, (buf, cap, len) => c.hmac_compute(a, k, k.length, d, d.length, buf, cap, len));
  });
}

/** Checks `mac` against HMAC-`alg` of `data` under `key`, in constant time; throws VerifyFailedError on mismatch. */
function hmacVerify(alg, key, data, mac) {
  const a = algIn(alg);
  withInputs((inp) => {
    const k = inp.bytes(key, 'key');
    const d = inp.bytes(data, 'data');
    const m = inp.bytes(mac, 'mac');
    check(c.hmac_verify(a, k, k.length, d, d.length, m, m.length));
  });
}

const hmacRegistry = new FinalizationRegistry((ctx) => c.hmac_free(ctx));

/**
 * A streaming HMAC for data that does not fit in memory. `finish()` and
 * `finishVerify()` reset it to its keyed start, so one stream serves many
 * messages under one key. Call `close()` (or use `using`) to wipe it.
 */
class Hmac {
  #ctx;
  #token = {};

  constructor(alg, key) {
    const a = algIn(alg);
    this.#ctx = withInputs((inp) => {
      const k = inp.bytes(key, 'key');
      const out = [null];
      check(c.hmac_new(a, k, k.length, out));
      return out[0];
    });
    hmacRegistry.register(this, this.#ctx, this.#token);
  }

  #live() {
    if (this.#ctx === null) throw new NullPointerError(Status.NULL_POINTER, 'the HMAC stream is closed');
    return this.#ctx;
  }

  /** Feeds `data`; returns the stream, so calls can be chained. */
  update(data) {
    const ctx = this.#live();
    withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      check(c.hmac_update(ctx, d, d.length));
    });
    return this;
  }

  /** The MAC of everything fed since the start (or the last finish); resets the stream. */
  finish() {
    const ctx = this.#live();
    return outputOf(MAX_DIGEST_LEN, (buf, cap, len) => c.hmac_finish(ctx, buf, cap, len));
  }

  /** Checks `mac` against the MAC of everything fed, in constant time; resets the stream; throws VerifyFailedError on mismatch. */
  finishVerify(mac) {
    const ctx = this.#live();
    withInputs((inp) => {
      const m = inp.bytes(mac, 'mac');
      check(c.hmac_finish_verify(ctx, m, m.length));
    });
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#ctx === null;
  }

  /** Wipes and releases the stream; later calls throw NullPointerError. Calling it again does nothing. */
  close() {
    if (this.#ctx === null) return;
    hmacRegistry.unregister(this.#token);
    const ctx = this.#ctx;
    this.#ctx = null;
    c.hmac_free(ctx);
  }
}

// ---------------------------------------------------------------------------
// HKDF

/** Output buffer for HKDF: local check of the JS value, the library checks the range. */
function okmBuffer(length) {
  const n = sizeIn(length, 'length');
  if (n > 255 * MAX_DIGEST_LEN) {
    throw new InvalidArgumentError(Status.INVALID_ARGUMENT, `length ${n} is over 255 times the digest length`);
  }
  return Buffer.alloc(n);
}

/**
 * HKDF-`alg` (RFC 5869 extract then expand): `length` bytes (1 to 255 ×
 * digest length) from `ikm`, `salt` (null: none) and `info` (null: empty).
 * The argument order follows node:crypto's hkdfSync. For high-entropy input
 * only: HKDF is not a password hash.
 */
function hkdf(alg, ikm, salt, info, length) {
  const a = algIn(alg);
  const okm = okmBuffer(length);
  withInputs((inp) => {
    const i = inp.bytes(ikm, 'ikm');
    const s = inp.bytes(salt, 'salt', { optional: true });
    const f = inp.bytes(info, 'info', { optional: true });
    check(c.hkdf_derive(a, i, i.length, s, s.length, f, f.length, okm, okm.length));
  });
  return okm;
}

/** HKDF-Extract: the pseudorandom key (digest length bytes) of `ikm` under `salt` (null: none). */
function hkdfExtract(alg, salt, ikm) {
  const a = algIn(alg);
  return withInputs((inp) => {
    const s = inp.bytes(salt, 'salt', { optional: true });
    const i = inp.bytes(ikm, 'ikm');
    return outputOf(MAX_DIGEST_LEN, (buf, cap, len) => c.hkdf_extract(a, s, s.length, i, i.length, buf, cap, len));
  });
}

/** HKDF-Expand: `length` bytes from the pseudorandom key `prk` (at least digest length bytes) and `info`. */
function hkdfExpand(alg, prk, info, length) {
  const a = algIn(alg);
  const okm = okmBuffer(length);
  withInputs((inp) => {
    const p = inp.bytes(prk, 'prk');
    const f = inp.bytes(info, 'info', { optional: true });
    check(c.hkdf_expand(a, p, p.length, f, f.length, okm, okm.length));
  });
  return okm;
}

// ---------------------------------------------------------------------------
// Key manager

/**
 * The fields of the plain object `value` (the option `what`) converted by
 * `fields` (name -> conversion of its value, given its name for errors),
 * in that order; a field left out or undefined is converted from
 * undefined, an unknown one is a TypeError.
 */
function objectIn(value, what, fields) {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${what} must be an object`);
  for (const name of Object.keys(value)) {
    if (!Object.hasOwn(fields, name)) {
      throw new TypeError(`unknown field '${name}' of ${what} (known: ${Object.keys(fields).join(', ')})`);
    }
  }
  return Object.entries(fields).map(([name, convert]) => convert(value[name], `${what}.${name}`));
}

/** The `tls` option, { caFile, certFile, keyFile } (each may be left out), as the setter's three paths. */
function tlsIn(value, what) {
  return objectIn(value, what, { caFile: pathIn, certFile: pathIn, keyFile: pathIn });
}

/** The `auth` option, { user, passwordFile }, as the setter's two strings. */
function authIn(value, what) {
  const passwordFileIn = (file, name) => {
    if (file === undefined || file === null) throw new TypeError(`${name} must be a string, Buffer or URL`);
    return pathIn(file, name);
  };
  return objectIn(value, what, { user: nameIn, passwordFile: passwordFileIn });
}

/** The conversion into a setter's one argument, as the list of its arguments. */
function one(convert) {
  return (value, what) => [convert(value, what)];
}

// Each open option: its C setter `(opts, ...args)` and the conversion of
// its JavaScript value into `args` (given the option's name for errors). A
// new option is one line here and one field of OpenOptions in index.d.ts.
const OPEN_OPTIONS = {
  readOnly: [c.open_options_set_read_only, one(boolIn)],
  trustedUid: [c.open_options_set_trusted_uid, one(u32In)],
  lockTimeoutMs: [c.open_options_set_lock_timeout_ms, one(u32In)],
  kekFile: [c.open_options_set_kek_file, one(pathIn)],
  kekCredential: [c.open_options_set_kek_credential, one(nameIn)],
  requireSealed: [c.open_options_set_require_sealed, one(boolIn)],
  timeoutMs: [c.open_options_set_timeout_ms, one(u32In)],
  tls: [c.open_options_set_tls, tlsIn],
  auth: [c.open_options_set_auth, authIn],
};

/**
 * Runs `fn` with a native options object holding `options` (a plain object
 * of OPEN_OPTIONS keys; undefined values keep the library's default), or
 * with null when `options` is undefined or null.
 */
function withOpenOptions(options, fn) {
  if (options === undefined || options === null) return fn(null);
  if (typeof options !== 'object') throw new TypeError('options must be an object');
  const settings = []; // every value converted before any native object exists
  for (const [name, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPEN_OPTIONS, name)) {
      throw new TypeError(`unknown open option '${name}' (known: ${Object.keys(OPEN_OPTIONS).join(', ')})`);
    }
    const [set, convert] = OPEN_OPTIONS[name];
    if (value !== undefined) settings.push([set, convert(value, name)]);
  }
  const out = [null];
  check(c.open_options_new(out));
  try {
    for (const [set, args] of settings) check(set(out[0], ...args));
    return fn(out[0]);
  } finally {
    c.open_options_free(out[0]);
  }
}

const OPEN = Symbol('KeyManager.open');

const kmRegistry = unclosedRegistry(
  (km) => c.key_manager_free(km),
  (openedAs) =>
    `A KeyManager for ${openedAs} was garbage-collected without close(): call km.close() ` +
    '(try/finally) or declare it with `using`',
);

/**
 * An open key source: a private key directory, whose keys are files
 * `<dir>/<keyId>.key`, or a mounted one. Create it with
 * `KeyManager.open(dir)` or `KeyManager.openWith(location, options)`;
 * release it with `close()` (or `using`): it holds a directory descriptor
 * until then, and one garbage-collected unclosed is freed with a process
 * warning. A key id is 1 to 128 characters from [A-Za-z0-9._-], not
 * starting with '.'.
 */
class KeyManager {
  #handle;

  constructor(token, ptr, path) {
    if (token !== OPEN) throw new TypeError('use KeyManager.open(dir) to open a key directory');
    const name = path === null ? 'the default key directory' : JSON.stringify(path.toString('utf8', 0, path.length - 1));
    this.#handle = new Handle(this, ptr, { free: c.key_manager_free, registry: kmRegistry, what: 'key manager', name });
  }

  /**
   * Opens (creating it as mode 0700 if absent) the key directory `dir`.
   * Without `dir`, the default `<tmp>/codomyrmex_keys`: pass a stable
   * directory for keys that must persist.
   */
  static open(dir) {
    const path = pathIn(dir);
    const out = [null];
    check(c.key_manager_open(path, out));
    return new KeyManager(OPEN, out[0], path);
  }

  /**
   * Opens the key source `location` with `options`. `location`: null or
   * undefined for the default key directory (as `open`), a path for a
   * private key directory, 'mounted:<dir>' for a read-only directory an
   * orchestrator fills (a Kubernetes Secret volume, Docker secrets, systemd
   * credentials), or 'etcd://host1:port1,host2:port2[/prefix]' for a key
   * set shared by many hosts in an etcd v3 cluster (default prefix
   * '/codomyrmex_keys'; opening sends nothing, so an unreachable cluster
   * fails the first call with IoError); any other 'scheme:' prefix throws
   * InvalidArgumentError (write './a:b' for a directory named 'a:b'; a
   * file: URL is always a path). `options`: { readOnly, trustedUid,
   * lockTimeoutMs, kekFile, kekCredential, requireSealed, timeoutMs,
   * tls: { caFile, certFile, keyFile }, auth: { user, passwordFile } },
   * each left out keeping the default.
   */
  static openWith(location, options) {
    const path = pathIn(location, 'location');
    const out = [null];
    withOpenOptions(options, (opts) => check(c.key_manager_open_with(path, opts, out)));
    return new KeyManager(OPEN, out[0], path);
  }

  #live() {
    return this.#handle.live();
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#handle.closed;
  }

  /** Releases the handle; later calls throw NullPointerError. Calling it again does nothing. */
  close() {
    this.#handle.close();
  }

  /** The key directory's path, as resolved when it was opened. */
  get dir() {
    const km = this.#live();
    const bytes = sizedOutputOf((buf, cap, len) => c.key_manager_dir(km, buf, cap, len));
    return bytes.toString('utf8', 0, Math.max(0, bytes.length - 1)); // without the NUL
  }

  /** Stores `key` (1 to 65536 bytes) as `keyId`: version 1 of a new id, or the next version of an existing one. */
  store(keyId, key) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    withInputs((inp) => {
      const k = inp.bytes(key, 'key');
      check(c.key_manager_store(km, id, k, k.length));
    });
  }

  /** Like `store`, but throws AlreadyExistsError if `keyId` exists. */
  create(keyId, key) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    withInputs((inp) => {
      const k = inp.bytes(key, 'key');
      check(c.key_manager_create(km, id, k, k.length));
    });
  }

  /** Creates a random key of `length` bytes (default 32) as `keyId`; throws AlreadyExistsError if it exists. */
  generate(keyId, length = 32) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    check(c.key_manager_generate(km, id, sizeIn(length, 'length')));
  }

  /** A copy of the current key `keyId`. Wipe it with `secureZero` when done. */
  get(keyId) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    return sizedOutputOf((buf, cap, len) => c.key_manager_get(km, id, buf, cap, len));
  }

  /** Whether the key `keyId` exists. */
  exists(keyId) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const out = [false];
    check(c.key_manager_exists(km, id, out));
    return Boolean(out[0]);
  }

  /** Removes `keyId` and all its versions; throws NotFoundError if absent. */
  delete(keyId) {
    const km = this.#live();
    check(c.key_manager_delete(km, keyIdIn(keyId)));
  }

  /** All key ids, sorted bytewise ascending. */
  list() {
    const km = this.#live();
    const bytes = sizedOutputOf((buf, cap, len) => c.key_manager_list(km, buf, cap, len, [0]));
    const text = bytes.toString('utf8');
    return text === '' ? [] : text.slice(0, -1).split('\0');
  }

  /**
   * Stores `newKey` as the next version of `keyId` and returns the key it
   * replaced (null when there was none; the new key is stored all the same).
   * The replaced version is kept until pruned.
   */
  rotate(keyId, newKey) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    return withInputs((inp) => {
      const k = inp.bytes(newKey, 'newKey');
      // One call with room for any key, so the rotation happens exactly once.
      const scratch = Buffer.alloc(MAX_KEY_LEN);
      const len = [0];
      try {
        check(c.key_manager_rotate(km, id, k, k.length, scratch, scratch.length, len));
        const n = Number(len[0]);
        if (n === 0) return null;
        const old = Buffer.alloc(n);
        scratch.copy(old, 0, 0, n);
        return old;
      } finally {
        c.secure_zero(scratch, scratch.length);
      }
    });
  }

  /** HMAC-`alg` of `data` under the current version of `keyId`, which never leaves the library. */
  hmac(keyId, alg, data) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    return withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      return outputOf(MAX_DIGEST_LEN, (buf, cap, len) => c.key_manager_hmac(km, id, a, d, d.length, buf, cap, len));
    });
  }

  /** Checks `mac` against HMAC-`alg` of `data` under `keyId`; throws VerifyFailedError on mismatch. */
  hmacVerify(keyId, alg, data, mac) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      const m = inp.bytes(mac, 'mac');
      check(c.key_manager_hmac_verify(km, id, a, d, d.length, m, m.length));
    });
  }

  /** HKDF-`alg` with the current key `keyId` as input key material (argument order as `hkdf`). */
  derive(keyId, alg, salt, info, length) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    const okm = okmBuffer(length);
    withInputs((inp) => {
      const s = inp.bytes(salt, 'salt', { optional: true });
      const f = inp.bytes(info, 'info', { optional: true });
      check(c.key_manager_derive(km, id, a, s, s.length, f, f.length, okm, okm.length));
    });
    return okm;
  }

  /** The current version number of `keyId` (1 for a key never rotated). */
  currentVersion(keyId) {
    const km = this.#live();
    const out = [0];
    check(c.key_manager_current_version(km, keyIdIn(keyId), out));
    return Number(out[0]);
  }

  /** A copy of version `version` (0: current) of `keyId`; NotFoundError if unknown or pruned. */
  getVersion(keyId, version) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const v = u32In(version, 'version');
    return sizedOutputOf((buf, cap, len) => c.key_manager_get_version(km, id, v, buf, cap, len));
  }

  /** The kept version numbers of `keyId`, ascending (the last is current). */
  listVersions(keyId) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    let cap = 0;
    for (;;) {
      const out = cap === 0 ? null : new Uint32Array(cap);
      const count = [0];
      const status = c.key_manager_list_versions(km, id, out, cap, count);
      const n = Number(count[0]);
      if (status === Status.OK) return out === null ? [] : Array.from(out.subarray(0, n));
      if (status !== Status.BUFFER_TOO_SMALL) check(status);
      cap = n;
    }
  }

  /** Removes all but the newest `keepNewest` (at least 1) versions of `keyId`. */
  prune(keyId, keepNewest) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    check(c.key_manager_prune(km, id, u32In(keepNewest, 'keepNewest')));
  }

  /** HMAC-`alg` of `data` under version `version` (0: current) of `keyId`. */
  hmacVersion(keyId, version, alg, data) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const v = u32In(version, 'version');
    const a = algIn(alg);
    return withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      return outputOf(MAX_DIGEST_LEN, (buf, cap, len) =>
        c.key_manager_hmac_version(km, id, v, a, d, d.length, buf, cap, len),
      );
    });
  }

  /** HKDF-`alg` with version `version` (0: current) of `keyId` as input key material. */
  deriveVersion(keyId, version, alg, salt, info, length) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const v = u32In(version, 'version');
    const a = algIn(alg);
    const okm = okmBuffer(length);
    withInputs((inp) => {
      const s = inp.bytes(salt, 'salt', { optional: true });
      const f = inp.bytes(info, 'info', { optional: true });
      check(c.key_manager_derive_version(km, id, v, a, s, s.length, f, f.length, okm, okm.length));
    });
    return okm;
  }

  /** A tagged MAC: 0x01 || version (4 bytes, big-endian) || HMAC-`alg` under the current version of `keyId`. */
  hmacTagged(keyId, alg, data) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    return withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      return outputOf(TAG_OVERHEAD + MAX_DIGEST_LEN, (buf, cap, len) =>
        c.key_manager_hmac_tagged(km, id, a, d, d.length, buf, cap, len),
      );
    });
  }

  /**
   * Checks a tagged MAC with the version of `keyId` it names; throws
   * VerifyFailedError (mismatch, bad format, pruned or unknown version) or
   * NotFoundError (no key `keyId`).
   */
  hmacVerifyTagged(keyId, alg, data, tag) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      const t = inp.bytes(tag, 'tag');
      check(c.key_manager_hmac_verify_tagged(km, id, a, d, d.length, t, t.length));
    });
  }

  /**
   * Adds `key` (1 to 65536 bytes) as a staged version of the existing key
   * `keyId` and returns its number. A staged version is listed, readable
   * with `getVersion` and accepted by `hmacVerifyTagged`, but not used to
   * make MACs until `promote`: every host can learn a new key before any
   * host signs with it. NotFoundError if `keyId` does not exist.
   */
  stage(keyId, key) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    return withInputs((inp) => {
      const k = inp.bytes(key, 'key');
      const out = [0];
      check(c.key_manager_stage(km, id, k, k.length, out));
      return Number(out[0]);
    });
  }

  /** Like `stage` with a random key of `length` bytes (default 32); returns the staged version's number. */
  stageGenerate(keyId, length = 32) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const out = [0];
    check(c.key_manager_stage_generate(km, id, sizeIn(length, 'length'), out));
    return Number(out[0]);
  }

  /** Makes the staged `version` of `keyId` current (the one it replaces is kept); NotFoundError unless it is staged. */
  promote(keyId, version) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    check(c.key_manager_promote(km, id, u32In(version, 'version')));
  }

  /**
   * Seals every plain key file and version record under the KEK the
   * manager was opened with (`kekFile` or `kekCredential`), each
   * atomically; returns how many files were rewritten (0 when everything
   * was sealed already). InvalidArgumentError without a KEK or read-only.
   */
  sealAll() {
    const km = this.#live();
    const out = [0];
    check(c.key_manager_seal_all(km, out));
    return Number(out[0]);
  }

  /**
   * Loads every version of `keyId` into a Keyring for MACs with `alg`. With
   * `refreshMs > 0` a call on the keyring checks at most that often
   * (cheaply) whether the key changed and reloads it; with 0 (the default)
   * only `refresh()` does. The keyring outlives this manager.
   */
  load(keyId, alg, refreshMs = 0) {
    const km = this.#live();
    const id = keyIdIn(keyId);
    const a = algIn(alg);
    const out = [null];
    check(c.key_manager_load(km, id, a, u32In(refreshMs, 'refreshMs'), out));
    return new Keyring(LOAD, out[0], keyId, a);
  }
}

// ---------------------------------------------------------------------------
// Keyrings

const LOAD = Symbol('KeyManager.load');

const keyringRegistry = unclosedRegistry(
  (kr) => c.keyring_free(kr),
  (keyId) =>
    `A Keyring for key ${keyId} was garbage-collected without close(): call keyring.close() ` +
    '(try/finally) or declare it with `using`',
);

/**
 * Every version of one key (current, older and staged) in memory, from
 * `km.load(keyId, alg, refreshMs)`: a MAC reads no file. The same bytes as
 * the key manager's `hmac` and `hmacTagged`. A key deleted from the store
 * is wiped: calls then throw NotFoundError. It keeps working after its
 * KeyManager is closed. Release it with `close()` (or `using`); one
 * garbage-collected unclosed is freed with a process warning.
 */
class Keyring {
  #handle;
  #keyId;
  #alg;

  constructor(token, ptr, keyId, alg) {
    if (token !== LOAD) throw new TypeError('use km.load(keyId, alg) to load a keyring');
    this.#keyId = keyId;
    this.#alg = alg;
    this.#handle = new Handle(this, ptr, {
      free: c.keyring_free,
      registry: keyringRegistry,
      what: 'keyring',
      name: JSON.stringify(keyId),
    });
  }

  /** The id of the key this keyring holds. */
  get keyId() {
    return this.#keyId;
  }

  /** The algorithm (a HashAlg value) of every MAC it makes and checks. */
  get alg() {
    return this.#alg;
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#handle.closed;
  }

  /** Wipes the keys and releases the keyring; later calls throw NullPointerError. Calling it again does nothing. */
  close() {
    this.#handle.close();
  }

  /**
   * Checks the store now and reloads the key if it changed; returns whether
   * the keys served changed. Throws the store's error if the check or the
   * reload fails (the last good keys are still served), NotFoundError if
   * the key was deleted.
   */
  refresh() {
    const kr = this.#handle.live();
    const out = [false];
    check(c.keyring_refresh(kr, out));
    return Boolean(out[0]);
  }

  /** The number of the version MACs are made with now. */
  currentVersion() {
    const kr = this.#handle.live();
    const out = [0];
    check(c.keyring_current_version(kr, out));
    return Number(out[0]);
  }

  /** HMAC of `data` with the current version. */
  hmac(data) {
    const kr = this.#handle.live();
    return withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      return outputOf(MAX_DIGEST_LEN, (buf, cap, len) => c.keyring_hmac(kr, d, d.length, buf, cap, len));
    });
  }

  /** Checks `mac` against the HMAC of `data` with the current version, in constant time; throws VerifyFailedError on mismatch. */
  hmacVerify(data, mac) {
    const kr = this.#handle.live();
    withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      const m = inp.bytes(mac, 'mac');
      check(c.keyring_hmac_verify(kr, d, d.length, m, m.length));
    });
  }

  /** A tagged MAC of `data` with the current version: 0x01 || version (4 bytes, big-endian) || HMAC. */
  hmacTagged(data) {
    const kr = this.#handle.live();
    return withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      return outputOf(TAG_OVERHEAD + MAX_DIGEST_LEN, (buf, cap, len) =>
        c.keyring_hmac_tagged(kr, d, d.length, buf, cap, len),
      );
    });
  }

  /**
   * Checks a tagged MAC with the version it names (any version the keyring
   * holds, staged ones included); throws VerifyFailedError for a mismatch,
   * a bad format or a version it does not hold.
   */
  hmacVerifyTagged(data, tag) {
    const kr = this.#handle.live();
    withInputs((inp) => {
      const d = inp.bytes(data, 'data');
      const t = inp.bytes(tag, 'tag');
      check(c.keyring_hmac_verify_tagged(kr, d, d.length, t, t.length));
    });
  }
}

// `using km = KeyManager.open(dir)`, `using ring = km.load(...)` and
// `using h = new Hmac(...)` where the runtime has explicit resource management.
if (typeof Symbol.dispose === 'symbol') {
  KeyManager.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
  Keyring.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
  Hmac.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

module.exports = {
  // constants
  HashAlg,
  Status,
  MAX_DIGEST_LEN,
  MAX_KEY_LEN,
  MAX_KEY_ID_LEN,
  TAG_OVERHEAD,
  libraryPath,
  // library-wide
  version,
  statusName,
  lastErrorMessage,
  lastOsError,
  randomBytes,
  secureZero,
  // algorithms
  hashAlgFromName,
  digestLength,
  // HMAC
  hmac,
  hmacVerify,
  Hmac,
  // HKDF
  hkdf,
  hkdfExtract,
  hkdfExpand,
  // key manager
  KeyManager,
  Keyring,
  // errors
  CodomyrmexError: errors.CodomyrmexError,
  NullPointerError: errors.NullPointerError,
  InvalidArgumentError: errors.InvalidArgumentError,
  InvalidKeyIdError: errors.InvalidKeyIdError,
  UnsupportedAlgorithmError: errors.UnsupportedAlgorithmError,
  BufferTooSmallError: errors.BufferTooSmallError,
  NotFoundError: errors.NotFoundError,
  AlreadyExistsError: errors.AlreadyExistsError,
  VerifyFailedError: errors.VerifyFailedError,
  IoError: errors.IoError,
  InsecurePermissionsError: errors.InsecurePermissionsError,
  CorruptError: errors.CorruptError,
  InternalError: errors.InternalError,
};
