'use strict';
// Loads libcodomyrmex_keys and declares its C functions with koffi.
//
// Where the library comes from, first match wins:
//   1. $CODOMYRMEX_KEYS_LIB_DIR/libcodomyrmex_keys.so.1, when the variable is
//      set (an explicit choice, for development: no fallback if the file is
//      missing there);
//   2. the prebuilt library of this platform's package,
//      @codomyrmex-keys/<platform>-<arch> (an optional dependency: npm
//      installs the one that matches the machine, as koffi does for itself);
//   3. libcodomyrmex_keys.so.1 from the system's library search path (the
//      Debian package libcodomyrmex-keys1, ldconfig, LD_LIBRARY_PATH).
// Never a path relative to the current directory or project. The library
// must be of the major version this package is written for (ABI_MAJOR), at
// least the minor version that added the last function it declares
// (ABI_MINOR).

const path = require('node:path');
const koffi = require('koffi');

const LIB_DIR_ENV = 'CODOMYRMEX_KEYS_LIB_DIR';
/** The major version of the C library this package is written for. */
const ABI_MAJOR = 1;
/** The oldest minor version of that major version with every function this package declares. */
const ABI_MINOR = 1;
const SONAME = `libcodomyrmex_keys.so.${ABI_MAJOR}`;
const PLATFORM_PACKAGE = `@codomyrmex-keys/${process.platform}-${process.arch}`;

/** The library of this platform's package, or null when it is not installed. */
function platformLibrary() {
  try {
    return require(PLATFORM_PACKAGE);
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

function candidates() {
  const fromEnv = process.env[LIB_DIR_ENV];
  if (fromEnv) return [{ file: path.resolve(fromEnv, SONAME), why: `$${LIB_DIR_ENV}` }];
  const list = [];
  const bundled = platformLibrary();
  if (bundled) list.push({ file: bundled, why: PLATFORM_PACKAGE });
  list.push({ file: SONAME, why: 'system library path' });
  return list;
}

/** Opens `file` and checks that it is codomyrmex_keys of version ABI_MAJOR.ABI_MINOR or a later minor. */
function open(file) {
  const lib = koffi.load(file);
  const found = lib.func('const char *codomyrmex_version(void)')();
  const [major, minor] = String(found).split('.');
  if (major !== String(ABI_MAJOR) || !/^\d+$/.test(minor ?? '') || Number(minor) < ABI_MINOR) {
    const needs = major !== String(ABI_MAJOR) ? `${ABI_MAJOR}.x` : `${ABI_MAJOR}.${ABI_MINOR} or later`;
    const err = new Error(
      `codomyrmex_keys: ${file} is version ${found} of the library, but this package needs version ${needs}: ` +
        `install the package for your platform (${PLATFORM_PACKAGE}) or libcodomyrmex-keys${ABI_MAJOR}`,
    );
    err.code = 'CODOMYRMEX_KEYS_VERSION';
    throw err;
  }
  return lib;
}

function loadLibrary() {
  const failures = [];
  for (const { file, why } of candidates()) {
    try {
      return { lib: open(file), file };
    } catch (err) {
      if (err.code === 'CODOMYRMEX_KEYS_VERSION') throw err;
      failures.push(`${file} (${why}): ${err.message}`);
    }
  }
  throw new Error(
    `codomyrmex_keys: cannot load the native library: ${failures.join('; ')}. ` +
      `Install ${PLATFORM_PACKAGE} (an optional dependency of codomyrmex-keys) or the system library ` +
      `libcodomyrmex-keys${ABI_MAJOR}, or set ${LIB_DIR_ENV} to the directory holding ${SONAME}.`,
  );
}

const { lib, file: libraryPath } = loadLibrary();

koffi.opaque('codomyrmex_key_manager');
koffi.opaque('codomyrmex_hmac');
koffi.opaque('codomyrmex_keyring');
koffi.opaque('codomyrmex_open_options');
// codomyrmex_status is a C enum (int-sized); codomyrmex_hash_alg is uint32_t.
koffi.alias('codomyrmex_status', 'int');
koffi.alias('codomyrmex_hash_alg', 'uint32_t');

// Byte inputs and outputs are passed as Buffers/Uint8Arrays (koffi hands the
// C side a pointer to their memory, without copying) or null with length 0.
// Strings (key ids, paths) are passed as NUL-terminated Buffers built here,
// so that no copy of a string lingers in koffi's own call heap.
const PROTOTYPES = [
  // §3 library-wide
  'const char *codomyrmex_version(void)',
  'const char *codomyrmex_status_name(uint32_t status)',
  'size_t codomyrmex_last_error_message(uint8_t *buf, size_t cap)',
  'int32_t codomyrmex_last_os_error(void)',
  'codomyrmex_status codomyrmex_random_bytes(uint8_t *buf, size_t len)',
  'void codomyrmex_secure_zero(uint8_t *buf, size_t len)',
  // §4 algorithms
  'codomyrmex_status codomyrmex_hash_alg_from_name(const uint8_t *name, _Out_ codomyrmex_hash_alg *out_alg)',
  'size_t codomyrmex_hash_digest_len(codomyrmex_hash_alg alg)',
  // §5 HMAC
  'codomyrmex_status codomyrmex_hmac_compute(codomyrmex_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len, uint8_t *mac_out, size_t mac_cap, _Out_ size_t *mac_len)',
  'codomyrmex_status codomyrmex_hmac_verify(codomyrmex_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len, const uint8_t *mac, size_t mac_len)',
  'codomyrmex_status codomyrmex_hmac_new(codomyrmex_hash_alg alg, const uint8_t *key, size_t key_len, _Out_ codomyrmex_hmac **out_ctx)',
  'codomyrmex_status codomyrmex_hmac_update(codomyrmex_hmac *ctx, const uint8_t *data, size_t data_len)',
  'codomyrmex_status codomyrmex_hmac_finish(codomyrmex_hmac *ctx, uint8_t *mac_out, size_t mac_cap, _Out_ size_t *mac_len)',
  'codomyrmex_status codomyrmex_hmac_finish_verify(codomyrmex_hmac *ctx, const uint8_t *mac, size_t mac_len)',
  'void codomyrmex_hmac_free(codomyrmex_hmac *ctx)',
  // §6 HKDF
  'codomyrmex_status codomyrmex_hkdf_derive(codomyrmex_hash_alg alg, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *okm_out, size_t okm_len)',
  'codomyrmex_status codomyrmex_hkdf_extract(codomyrmex_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out, size_t prk_cap, _Out_ size_t *prk_len)',
  'codomyrmex_status codomyrmex_hkdf_expand(codomyrmex_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len, uint8_t *okm_out, size_t okm_len)',
  // §7 key manager
  'codomyrmex_status codomyrmex_key_manager_open(const uint8_t *key_dir, _Out_ codomyrmex_key_manager **out_km)',
  'codomyrmex_status codomyrmex_key_manager_open_with(const uint8_t *location, const codomyrmex_open_options *opts, _Out_ codomyrmex_key_manager **out_km)',
  'void codomyrmex_key_manager_free(codomyrmex_key_manager *km)',
  'codomyrmex_status codomyrmex_key_manager_dir(const codomyrmex_key_manager *km, uint8_t *buf, size_t cap, _Out_ size_t *out_len)',
  'codomyrmex_status codomyrmex_key_manager_store(const codomyrmex_key_manager *km, const uint8_t *key_id, const uint8_t *key, size_t key_len)',
  'codomyrmex_status codomyrmex_key_manager_create(const codomyrmex_key_manager *km, const uint8_t *key_id, const uint8_t *key, size_t key_len)',
  'codomyrmex_status codomyrmex_key_manager_generate(const codomyrmex_key_manager *km, const uint8_t *key_id, size_t key_len)',
  'codomyrmex_status codomyrmex_key_manager_get(const codomyrmex_key_manager *km, const uint8_t *key_id, uint8_t *key_out, size_t key_cap, _Out_ size_t *key_len)',
  'codomyrmex_status codomyrmex_key_manager_exists(const codomyrmex_key_manager *km, const uint8_t *key_id, _Out_ bool *out_exists)',
  'codomyrmex_status codomyrmex_key_manager_delete(const codomyrmex_key_manager *km, const uint8_t *key_id)',
  'codomyrmex_status codomyrmex_key_manager_list(const codomyrmex_key_manager *km, uint8_t *buf, size_t cap, _Out_ size_t *out_len, _Out_ size_t *out_count)',
  'codomyrmex_status codomyrmex_key_manager_rotate(const codomyrmex_key_manager *km, const uint8_t *key_id, const uint8_t *new_key, size_t new_key_len, uint8_t *old_out, size_t old_cap, _Out_ size_t *old_len)',
  'codomyrmex_status codomyrmex_key_manager_hmac(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len, uint8_t *mac_out, size_t mac_cap, _Out_ size_t *mac_len)',
  'codomyrmex_status codomyrmex_key_manager_hmac_verify(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len, const uint8_t *mac, size_t mac_len)',
  'codomyrmex_status codomyrmex_key_manager_derive(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *okm_out, size_t okm_len)',
  // §8 key versions
  'codomyrmex_status codomyrmex_key_manager_current_version(const codomyrmex_key_manager *km, const uint8_t *key_id, _Out_ uint32_t *out_version)',
  'codomyrmex_status codomyrmex_key_manager_get_version(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t version, uint8_t *key_out, size_t key_cap, _Out_ size_t *key_len)',
  'codomyrmex_status codomyrmex_key_manager_list_versions(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t *out, size_t cap, _Out_ size_t *out_count)',
  'codomyrmex_status codomyrmex_key_manager_prune(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t keep_newest)',
  'codomyrmex_status codomyrmex_key_manager_hmac_version(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t version, codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len, uint8_t *mac_out, size_t mac_cap, _Out_ size_t *mac_len)',
  'codomyrmex_status codomyrmex_key_manager_derive_version(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t version, codomyrmex_hash_alg alg, const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *okm_out, size_t okm_len)',
  'codomyrmex_status codomyrmex_key_manager_hmac_tagged(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len, uint8_t *tag_out, size_t tag_cap, _Out_ size_t *tag_len)',
  'codomyrmex_status codomyrmex_key_manager_hmac_verify_tagged(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len, const uint8_t *tag, size_t tag_len)',
  // §9 and §11 open options
  'codomyrmex_status codomyrmex_open_options_new(_Out_ codomyrmex_open_options **out_opts)',
  'void codomyrmex_open_options_free(codomyrmex_open_options *opts)',
  'codomyrmex_status codomyrmex_open_options_set_read_only(codomyrmex_open_options *opts, bool read_only)',
  'codomyrmex_status codomyrmex_open_options_set_trusted_uid(codomyrmex_open_options *opts, uint32_t uid)',
  'codomyrmex_status codomyrmex_open_options_set_lock_timeout_ms(codomyrmex_open_options *opts, uint32_t ms)',
  'codomyrmex_status codomyrmex_open_options_set_kek_file(codomyrmex_open_options *opts, const uint8_t *path)',
  'codomyrmex_status codomyrmex_open_options_set_kek_credential(codomyrmex_open_options *opts, const uint8_t *name)',
  'codomyrmex_status codomyrmex_open_options_set_require_sealed(codomyrmex_open_options *opts, bool require)',
  // §12 open options of an etcd source
  'codomyrmex_status codomyrmex_open_options_set_timeout_ms(codomyrmex_open_options *opts, uint32_t ms)',
  'codomyrmex_status codomyrmex_open_options_set_tls(codomyrmex_open_options *opts, const uint8_t *ca_file, const uint8_t *cert_file, const uint8_t *key_file)',
  'codomyrmex_status codomyrmex_open_options_set_auth(codomyrmex_open_options *opts, const uint8_t *user, const uint8_t *password_file)',
  // §11 sealing, §12 staged rotation
  'codomyrmex_status codomyrmex_key_manager_seal_all(const codomyrmex_key_manager *km, _Out_ size_t *out_count)',
  'codomyrmex_status codomyrmex_key_manager_stage(const codomyrmex_key_manager *km, const uint8_t *key_id, const uint8_t *key, size_t key_len, _Out_ uint32_t *out_version)',
  'codomyrmex_status codomyrmex_key_manager_stage_generate(const codomyrmex_key_manager *km, const uint8_t *key_id, size_t key_len, _Out_ uint32_t *out_version)',
  'codomyrmex_status codomyrmex_key_manager_promote(const codomyrmex_key_manager *km, const uint8_t *key_id, uint32_t version)',
  // §10 keyrings
  'codomyrmex_status codomyrmex_key_manager_load(const codomyrmex_key_manager *km, const uint8_t *key_id, codomyrmex_hash_alg alg, uint32_t refresh_ms, _Out_ codomyrmex_keyring **out)',
  'void codomyrmex_keyring_free(codomyrmex_keyring *kr)',
  'codomyrmex_status codomyrmex_keyring_refresh(const codomyrmex_keyring *kr, _Out_ bool *out_changed)',
  'codomyrmex_status codomyrmex_keyring_current_version(const codomyrmex_keyring *kr, _Out_ uint32_t *out)',
  'codomyrmex_status codomyrmex_keyring_hmac(const codomyrmex_keyring *kr, const uint8_t *data, size_t data_len, uint8_t *mac_out, size_t mac_cap, _Out_ size_t *mac_len)',
  'codomyrmex_status codomyrmex_keyring_hmac_verify(const codomyrmex_keyring *kr, const uint8_t *data, size_t data_len, const uint8_t *mac, size_t mac_len)',
  'codomyrmex_status codomyrmex_keyring_hmac_tagged(const codomyrmex_keyring *kr, const uint8_t *data, size_t data_len, uint8_t *tag_out, size_t tag_cap, _Out_ size_t *tag_len)',
  'codomyrmex_status codomyrmex_keyring_hmac_verify_tagged(const codomyrmex_keyring *kr, const uint8_t *data, size_t data_len, const uint8_t *tag, size_t tag_len)',
];

/** The C functions, by their name without the `codomyrmex_` prefix. */
const c = {};
for (const proto of PROTOTYPES) {
  const fn = lib.func(proto);
  const name = /\b(codomyrmex_\w+)\(/.exec(proto)[1];
  c[name.slice('codomyrmex_'.length)] = fn;
}

module.exports = { c, libraryPath, PROTOTYPES, ABI_MAJOR, ABI_MINOR };
