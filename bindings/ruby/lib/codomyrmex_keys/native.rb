# frozen_string_literal: true

require 'ffi'

module CodomyrmexKeys
  # The raw C functions of libcodomyrmex_keys, one attach_function per
  # declaration of include/codomyrmex_keys.h. Use the wrappers in
  # CodomyrmexKeys, KeyManager and Hmac instead: they size buffers, wipe
  # temporary copies of secrets and raise CodomyrmexKeys::Error.
  module Native
    extend FFI::Library

    # Where the shared library is loaded from: the directory
    # $CODOMYRMEX_KEYS_LIB_DIR if set, else <repo>/target/release if the
    # library is there, else the system's search path.
    def self.library_candidates
      name = FFI.map_library_name('codomyrmex_keys')
      dir = ENV['CODOMYRMEX_KEYS_LIB_DIR']
      return [File.join(dir, name)] if dir && !dir.empty?

      built = File.expand_path(File.join('..', '..', '..', '..', 'target', 'release', name), __dir__)
      File.file?(built) ? [built] : ['codomyrmex_keys']
    end

    ffi_lib library_candidates

    typedef :int, :status
    typedef :uint32, :hash_alg

    # Library-wide functions.
    attach_function :codomyrmex_version, [], :string
    attach_function :codomyrmex_status_name, [:uint32], :string
    attach_function :codomyrmex_last_error_message, %i[pointer size_t], :size_t
    attach_function :codomyrmex_random_bytes, %i[pointer size_t], :status
    attach_function :codomyrmex_secure_zero, %i[pointer size_t], :void

    # Algorithms.
    attach_function :codomyrmex_hash_alg_from_name, %i[pointer pointer], :status
    attach_function :codomyrmex_hash_digest_len, [:hash_alg], :size_t

    # HMAC.
    attach_function :codomyrmex_hmac_compute,
                    %i[hash_alg pointer size_t pointer size_t pointer size_t pointer], :status
    attach_function :codomyrmex_hmac_verify,
                    %i[hash_alg pointer size_t pointer size_t pointer size_t], :status
    attach_function :codomyrmex_hmac_new, %i[hash_alg pointer size_t pointer], :status
    attach_function :codomyrmex_hmac_update, %i[pointer pointer size_t], :status
    attach_function :codomyrmex_hmac_finish, %i[pointer pointer size_t pointer], :status
    attach_function :codomyrmex_hmac_finish_verify, %i[pointer pointer size_t], :status
    attach_function :codomyrmex_hmac_free, [:pointer], :void

    # HKDF.
    attach_function :codomyrmex_hkdf_derive,
                    %i[hash_alg pointer size_t pointer size_t pointer size_t pointer size_t], :status
    attach_function :codomyrmex_hkdf_extract,
                    %i[hash_alg pointer size_t pointer size_t pointer size_t pointer], :status
    attach_function :codomyrmex_hkdf_expand,
                    %i[hash_alg pointer size_t pointer size_t pointer size_t], :status

    # Key manager. These touch the disk (and fsync), so they release the
    # GVL while they run: other Ruby threads keep going.
    def self.attach_blocking(name, args, ret)
      attach_function name, args, ret, blocking: true
    end

    attach_blocking :codomyrmex_key_manager_open, %i[pointer pointer], :status
    attach_function :codomyrmex_key_manager_free, [:pointer], :void
    attach_function :codomyrmex_key_manager_dir, %i[pointer pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_store, %i[pointer pointer pointer size_t], :status
    attach_blocking :codomyrmex_key_manager_create, %i[pointer pointer pointer size_t], :status
    attach_blocking :codomyrmex_key_manager_generate, %i[pointer pointer size_t], :status
    attach_blocking :codomyrmex_key_manager_get, %i[pointer pointer pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_exists, %i[pointer pointer pointer], :status
    attach_blocking :codomyrmex_key_manager_delete, %i[pointer pointer], :status
    attach_blocking :codomyrmex_key_manager_list, %i[pointer pointer size_t pointer pointer], :status
    attach_blocking :codomyrmex_key_manager_rotate,
                    %i[pointer pointer pointer size_t pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_hmac,
                    %i[pointer pointer hash_alg pointer size_t pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_hmac_verify,
                    %i[pointer pointer hash_alg pointer size_t pointer size_t], :status
    attach_blocking :codomyrmex_key_manager_derive,
                    %i[pointer pointer hash_alg pointer size_t pointer size_t pointer size_t], :status

    # Key versions and tagged MACs.
    attach_blocking :codomyrmex_key_manager_current_version, %i[pointer pointer pointer], :status
    attach_blocking :codomyrmex_key_manager_get_version,
                    %i[pointer pointer uint32 pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_list_versions,
                    %i[pointer pointer pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_prune, %i[pointer pointer uint32], :status
    attach_blocking :codomyrmex_key_manager_hmac_version,
                    %i[pointer pointer uint32 hash_alg pointer size_t pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_derive_version,
                    %i[pointer pointer uint32 hash_alg pointer size_t pointer size_t pointer size_t], :status
    attach_blocking :codomyrmex_key_manager_hmac_tagged,
                    %i[pointer pointer hash_alg pointer size_t pointer size_t pointer], :status
    attach_blocking :codomyrmex_key_manager_hmac_verify_tagged,
                    %i[pointer pointer hash_alg pointer size_t pointer size_t], :status
  end
end
