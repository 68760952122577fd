# frozen_string_literal: true

require 'ffi'

module CodomyrmexKeys
  # The raw C functions of libcodomyrmex_keys, one attach_function per
  # declaration of include/codomyrmex_keys.h. Use the wrappers in
  # CodomyrmexKeys, KeyManager and Hmac instead: they size buffers, wipe
  # temporary copies of secrets and raise CodomyrmexKeys::Error.
  module Native
    extend FFI::Library

    # The major version of the C library these bindings are written for.
    ABI_MAJOR = 1
    # The oldest minor version of that major version with every function in
    # FUNCTIONS.
    ABI_MINOR = 1
    SONAME = "libcodomyrmex_keys.so.#{ABI_MAJOR}"
    # A platform gem carries the library here.
    BUNDLED = File.expand_path(File.join('native', SONAME), __dir__)

    # Where the shared library is loaded from, first match wins: the
    # directory $CODOMYRMEX_KEYS_LIB_DIR if set (an explicit choice: no
    # fallback); else the copy bundled in the gem; else SONAME from the
    # system's library search path (the Debian package libcodomyrmex-keys1,
    # ldconfig, LD_LIBRARY_PATH). Never a path relative to the current
    # directory.
    def self.library_candidates
      dir = ENV.fetch('CODOMYRMEX_KEYS_LIB_DIR', '')
      return [File.join(File.expand_path(dir), SONAME)] unless dir.empty?

      File.file?(BUNDLED) ? [BUNDLED, SONAME] : [SONAME]
    end

    # The first candidate that opens and reports version ABI_MAJOR.ABI_MINOR
    # or a later minor; a library of another major version, or of an older
    # minor version, is refused with LoadError.
    def self.find_library
      failures = []
      library_candidates.each do |candidate|
        begin
          lib = FFI::DynamicLibrary.open(candidate, FFI::DynamicLibrary::RTLD_LAZY | FFI::DynamicLibrary::RTLD_LOCAL)
        rescue LoadError => e
          failures << "#{candidate}: #{e.message}"
          next
        end
        symbol = lib.find_function('codomyrmex_version')
        raise LoadError, "codomyrmex_keys: #{candidate} has no codomyrmex_version" unless symbol

        found = FFI::Function.new(:string, [], symbol).call.to_s
        major, minor = found.split('.')
        unless major == ABI_MAJOR.to_s && minor.to_s.match?(/\A\d+\z/) && minor.to_i >= ABI_MINOR
          needs = major == ABI_MAJOR.to_s ? "#{ABI_MAJOR}.#{ABI_MINOR} or later" : "#{ABI_MAJOR}.x"
          raise LoadError, "codomyrmex_keys: #{candidate} is version #{found} of the library, but this gem " \
                           "needs version #{needs}: install libcodomyrmex-keys#{ABI_MAJOR} or the " \
                           'platform gem that bundles it'
        end
        return candidate
      end
      raise LoadError, "codomyrmex_keys: cannot load the native library (#{failures.join('; ')}); install " \
                       "libcodomyrmex-keys#{ABI_MAJOR}, or set CODOMYRMEX_KEYS_LIB_DIR to the directory " \
                       "holding #{SONAME}"
    end

    # The file the functions were attached from.
    LIBRARY_PATH = find_library
    ffi_lib LIBRARY_PATH

    typedef :int, :status
    typedef :uint32, :hash_alg

    # Every C function: name, parameter types, return type, and whether it
    # touches the disk (then it releases the GVL while it runs, so other Ruby
    # threads keep going). test/abi_test.rb compares this table with
    # abi/codomyrmex_keys.abi; a new C function is one more line here.
    FUNCTIONS = [
      # Library-wide functions.
      [:codomyrmex_version, [], :string],
      [:codomyrmex_status_name, [:uint32], :string],
      [:codomyrmex_last_error_message, %i[pointer size_t], :size_t],
      [:codomyrmex_last_os_error, [], :int32],
      [:codomyrmex_random_bytes, %i[pointer size_t], :status],
      [:codomyrmex_secure_zero, %i[pointer size_t], :void],
      # Algorithms.
      [:codomyrmex_hash_alg_from_name, %i[pointer pointer], :status],
      [:codomyrmex_hash_digest_len, [:hash_alg], :size_t],
      # HMAC.
      [:codomyrmex_hmac_compute, %i[hash_alg pointer size_t pointer size_t pointer size_t pointer], :status],
      [:codomyrmex_hmac_verify, %i[hash_alg pointer size_t pointer size_t pointer size_t], :status],
      [:codomyrmex_hmac_new, %i[hash_alg pointer size_t pointer], :status],
      [:codomyrmex_hmac_update, %i[pointer pointer size_t], :status],
      [:codomyrmex_hmac_finish, %i[pointer pointer size_t pointer], :status],
      [:codomyrmex_hmac_finish_verify, %i[pointer pointer size_t], :status],
      [:codomyrmex_hmac_free, [:pointer], :void],
      # HKDF.
      [:codomyrmex_hkdf_derive, %i[hash_alg pointer size_t pointer size_t pointer size_t pointer size_t], :status],
      [:codomyrmex_hkdf_extract, %i[hash_alg pointer size_t pointer size_t pointer size_t pointer], :status],
      [:codomyrmex_hkdf_expand, %i[hash_alg pointer size_t pointer size_t pointer size_t], :status],
      # Key manager.
      [:codomyrmex_key_manager_open, %i[pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_open_with, %i[pointer pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_free, [:pointer], :void],
      [:codomyrmex_key_manager_dir, %i[pointer pointer size_t pointer], :status],
      [:codomyrmex_key_manager_store, %i[pointer pointer pointer size_t], :status, :blocking],
      [:codomyrmex_key_manager_create, %i[pointer pointer pointer size_t], :status, :blocking],
      [:codomyrmex_key_manager_generate, %i[pointer pointer size_t], :status, :blocking],
      [:codomyrmex_key_manager_get, %i[pointer pointer pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_exists, %i[pointer pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_delete, %i[pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_list, %i[pointer pointer size_t pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_rotate, %i[pointer pointer pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_hmac,
       %i[pointer pointer hash_alg pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_hmac_verify,
       %i[pointer pointer hash_alg pointer size_t pointer size_t], :status, :blocking],
      [:codomyrmex_key_manager_derive,
       %i[pointer pointer hash_alg pointer size_t pointer size_t pointer size_t], :status, :blocking],
      # Key versions and tagged MACs.
      [:codomyrmex_key_manager_current_version, %i[pointer pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_get_version, %i[pointer pointer uint32 pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_list_versions, %i[pointer pointer pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_prune, %i[pointer pointer uint32], :status, :blocking],
      [:codomyrmex_key_manager_hmac_version,
       %i[pointer pointer uint32 hash_alg pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_derive_version,
       %i[pointer pointer uint32 hash_alg pointer size_t pointer size_t pointer size_t], :status, :blocking],
      [:codomyrmex_key_manager_hmac_tagged,
       %i[pointer pointer hash_alg pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_hmac_verify_tagged,
       %i[pointer pointer hash_alg pointer size_t pointer size_t], :status, :blocking],
      # Open options (read by codomyrmex_key_manager_open_with, which reads a KEK file).
      [:codomyrmex_open_options_new, [:pointer], :status],
      [:codomyrmex_open_options_free, [:pointer], :void],
      [:codomyrmex_open_options_set_read_only, %i[pointer bool], :status],
      [:codomyrmex_open_options_set_trusted_uid, %i[pointer uint32], :status],
      [:codomyrmex_open_options_set_lock_timeout_ms, %i[pointer uint32], :status],
      [:codomyrmex_open_options_set_kek_file, %i[pointer pointer], :status],
      [:codomyrmex_open_options_set_kek_credential, %i[pointer pointer], :status],
      [:codomyrmex_open_options_set_require_sealed, %i[pointer bool], :status],
      [:codomyrmex_open_options_set_timeout_ms, %i[pointer uint32], :status],
      [:codomyrmex_open_options_set_tls, %i[pointer pointer pointer pointer], :status],
      [:codomyrmex_open_options_set_auth, %i[pointer pointer pointer], :status],
      # Sealing and staged rotation.
      [:codomyrmex_key_manager_seal_all, %i[pointer pointer], :status, :blocking],
      [:codomyrmex_key_manager_stage, %i[pointer pointer pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_stage_generate, %i[pointer pointer size_t pointer], :status, :blocking],
      [:codomyrmex_key_manager_promote, %i[pointer pointer uint32], :status, :blocking],
      # Keyrings: a refresh reads the store, and so may any call when refresh_ms > 0.
      [:codomyrmex_key_manager_load, %i[pointer pointer hash_alg uint32 pointer], :status, :blocking],
      [:codomyrmex_keyring_free, [:pointer], :void],
      [:codomyrmex_keyring_refresh, %i[pointer pointer], :status, :blocking],
      [:codomyrmex_keyring_current_version, %i[pointer pointer], :status, :blocking],
      [:codomyrmex_keyring_hmac, %i[pointer pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_keyring_hmac_verify, %i[pointer pointer size_t pointer size_t], :status, :blocking],
      [:codomyrmex_keyring_hmac_tagged, %i[pointer pointer size_t pointer size_t pointer], :status, :blocking],
      [:codomyrmex_keyring_hmac_verify_tagged, %i[pointer pointer size_t pointer size_t], :status, :blocking]
    ].freeze

    FUNCTIONS.each do |name, args, ret, blocking|
      attach_function name, args, ret, blocking: blocking == :blocking
    end
  end
end
