# frozen_string_literal: true

module CodomyrmexKeys
  # An open key source: a private key directory, one file <dir>/<key_id>.key
  # per key (mode 0600, in a directory of mode 0700), older versions kept
  # beside it until pruned; or a mounted one (see ::open_with).
  #
  #   CodomyrmexKeys::KeyManager.open('/var/lib/myapp/keys') do |km|
  #     km.store('api', key)
  #     tag = km.hmac_tagged('api', :sha256, 'payload')
  #     km.rotate('api', new_key)
  #     km.hmac_verify_tagged('api', :sha256, 'payload', tag)  # => true
  #   end
  #
  # Key ids are 1 to 128 bytes from [A-Za-z0-9._-], not starting with '.'
  # (Strings or Symbols). Calls that touch the disk release the GVL, and one
  # KeyManager may be shared by many threads; #close waits for the calls in
  # progress. One never closed is freed by the garbage collector, with a
  # warning.
  class KeyManager
    # A key the manager reads first fits this buffer; longer keys take a
    # second call with the exact size.
    KEY_GUESS = 64
    private_constant :KEY_GUESS

    # Opens +dir+ (a String or Pathname; created as mode 0700 if absent).
    # nil means the library's default, <tmp>/codomyrmex_keys with <tmp> the
    # first of $TMPDIR, $TEMP, $TMP or /tmp: pass a stable directory for
    # keys that must survive a reboot. With a block, yields the manager,
    # closes it afterwards and returns the block's value.
    def self.open(dir = nil, &block)
      Support.closing(new(dir), &block)
    end

    # Opens the key source +location+ with +options+. +location+: nil for
    # the default key directory (as ::open), a path for a private key
    # directory, "mounted:<dir>" for a read-only directory an orchestrator
    # fills (a Kubernetes Secret volume, Docker secrets, systemd
    # credentials): links followed only inside it, files trusted only if
    # nobody but root, this user or +trusted_uid+ can write them, older
    # versions as <id>.key.v<N>; or "etcd://host1:port1,host2:port2[/prefix]"
    # for a key set shared by many hosts in an etcd v3 cluster (default
    # prefix /codomyrmex_keys; opening sends nothing, so an unreachable
    # cluster fails the first call with IOError). Any other "scheme:"
    # prefix raises InvalidArgumentError (write "./a:b" for a directory
    # named a:b; a Pathname is always a directory).
    #
    # Options (nil or left out: the library's default): +read_only+ (every
    # write raises InvalidArgumentError and touches nothing), +trusted_uid+,
    # +lock_timeout_ms+ (writers wait at most this long for another
    # writer's lock, default 30000, 0 forever; then IOError with errno
    # ETIMEDOUT), +kek_file+ / +kek_credential+ (seal every file written
    # under this key-encryption key; read sealed files with it),
    # +require_sealed+ (a plain key file is CorruptError); for an etcd
    # source, +timeout_ms+ (each request, connecting, failing over and
    # retrying included, takes at most this long, default 5000, at least
    # 1; then IOError naming every endpoint tried), +tls+ (a Hash of
    # +ca_file+, +cert_file+, +key_file+, each optional, cert and key both
    # or neither: reach the members over https) and +auth+ (a Hash of
    # +user+ and +password_file+: authenticate as that etcd user). With a
    # block, as ::open.
    def self.open_with(location = nil, **options, &block)
      function = 'key_manager_open_with'
      path = Support.path(location, function, 'location')
      out = FFI::MemoryPointer.new(:pointer)
      OpenOptions.with_native(options) do |opts|
        Support.check(function, Native.codomyrmex_key_manager_open_with(path, opts, out))
      end
      Support.closing(allocate.tap { |km| km.send(:adopt, out.read_pointer, location) }, &block)
    end

    def initialize(dir = nil)
      path = Support.path(dir, 'key_manager_open', 'key directory')
      out = FFI::MemoryPointer.new(:pointer)
      Support.check('key_manager_open', Native.codomyrmex_key_manager_open(path, out))
      adopt(out.read_pointer, dir)
    end

    # Releases the manager, after the calls in progress in other threads.
    # Idempotent; any later call raises NullPointerError.
    def close
      @handle.close
    end

    def closed?
      @handle.closed?
    end

    # The key directory's path as resolved when it was opened.
    def dir
      use('key_manager_dir') do |km|
        path = Support.fetch('key_manager_dir', 256) do |out, cap, len|
          Native.codomyrmex_key_manager_dir(km, out, cap, len)
        end
        path.chomp("\0").force_encoding(Encoding.find('filesystem'))
      end
    end

    # Stores +key+ (1 to MAX_KEY_LEN bytes) as +key_id+, atomically and
    # durably. A new id becomes version 1; over an existing key, +key+
    # becomes the next version and the previous one is kept. Returns nil.
    def store(key_id, key)
      put('key_manager_store', key_id, key) { |km, id, k, n| Native.codomyrmex_key_manager_store(km, id, k, n) }
    end

    # Like #store for an id that must not exist: AlreadyExistsError
    # otherwise, even against another process creating it at the same
    # instant. Returns nil.
    def create(key_id, key)
      put('key_manager_create', key_id, key) { |km, id, k, n| Native.codomyrmex_key_manager_create(km, id, k, n) }
    end

    # Creates a random key of +length+ bytes (1 to MAX_KEY_LEN) as +key_id+,
    # which must not exist (AlreadyExistsError). Returns nil.
    def generate(key_id, length)
      function = 'key_manager_generate'
      length = Support.length(length, function)
      with_id(function, key_id) do |km, id|
        Support.check(function, Native.codomyrmex_key_manager_generate(km, id, length))
      end
      nil
    end

    # The current version of +key_id+ as a binary String; yours to wipe
    # (CodomyrmexKeys.secure_zero).
    def get(key_id)
      get_version(key_id, 0)
    end

    # Whether +key_id+ exists (exactly when #list would list it).
    def exists?(key_id)
      function = 'key_manager_exists'
      with_id(function, key_id) do |km, id|
        out = FFI::MemoryPointer.new(:uint8)
        Support.check(function, Native.codomyrmex_key_manager_exists(km, id, out))
        out.read(:uint8) != 0
      end
    end

    # Removes +key_id+ and all its versions (NotFoundError if absent).
    # Returns nil.
    def delete(key_id)
      function = 'key_manager_delete'
      with_id(function, key_id) do |km, id|
        Support.check(function, Native.codomyrmex_key_manager_delete(km, id))
      end
      nil
    end

    # The ids of all keys, sorted bytewise ascending.
    def list
      function = 'key_manager_list'
      use(function) do |km|
        count = FFI::MemoryPointer.new(:size_t)
        names = Support.fetch(function, 1024) do |out, cap, len|
          Native.codomyrmex_key_manager_list(km, out, cap, len, count)
        end
        names.split("\0").map { |name| name.force_encoding(Encoding::UTF_8) }
      end
    end

    # Stores +new_key+ as the next version of +key_id+ and returns the key
    # it replaced (yours to wipe), or nil when there was none (+new_key+ is
    # stored all the same, as version 1). Atomic against concurrent rotate,
    # store and delete of the same key in any thread or process.
    def rotate(key_id, new_key)
      function = 'key_manager_rotate'
      new_key = Support.bytes(new_key)
      old = with_id(function, key_id) do |km, id|
        Support.with_inputs(new_key) do |k|
          # A rotation that fails with BUFFER_TOO_SMALL changes nothing, so
          # the retry with a larger buffer is safe.
          Support.fetch(function, KEY_GUESS) do |out, cap, len|
            Native.codomyrmex_key_manager_rotate(km, id, k, new_key.bytesize, out, cap, len)
          end
        end
      end
      old.empty? ? nil : old
    end

    # HMAC-+alg+ of +data+ under the stored key, which never leaves the
    # library.
    def hmac(key_id, alg, data)
      hmac_version(key_id, 0, alg, data)
    end

    # Checks +mac+ against HMAC-+alg+ of +data+ under the current version of
    # +key_id+, in constant time. Returns true or raises VerifyFailedError.
    def hmac_verify(key_id, alg, data, mac)
      verify('key_manager_hmac_verify', key_id, alg, data, mac) do |km, id, a, d, dn, m, mn|
        Native.codomyrmex_key_manager_hmac_verify(km, id, a, d, dn, m, mn)
      end
    end

    # HKDF-+alg+ with the current version of +key_id+ as input key material:
    # +length+ bytes (1 to 255 x digest length), yours to wipe.
    def derive(key_id, alg, length, salt: nil, info: nil)
      derive_version(key_id, 0, alg, length, salt: salt, info: info)
    end

    # -- Key versions: 1, 2, 3, ...; the highest is current. ------------

    # The current version number of +key_id+ (1 for a key never rotated).
    def current_version(key_id)
      function = 'key_manager_current_version'
      with_id(function, key_id) do |km, id|
        out = FFI::MemoryPointer.new(:uint32)
        Support.check(function, Native.codomyrmex_key_manager_current_version(km, id, out))
        out.read(:uint32)
      end
    end

    # Version +version+ of +key_id+ (0: current) as a binary String, yours to
    # wipe; NotFoundError for a version never made or pruned.
    def get_version(key_id, version)
      function = version.equal?(0) ? 'key_manager_get' : 'key_manager_get_version'
      version = Support.uint32(version, function, 'version')
      with_id(function, key_id) do |km, id|
        Support.fetch(function, KEY_GUESS) do |out, cap, len|
          if version.zero?
            Native.codomyrmex_key_manager_get(km, id, out, cap, len)
          else
            Native.codomyrmex_key_manager_get_version(km, id, version, out, cap, len)
          end
        end
      end
    end

    # The kept version numbers of +key_id+, ascending (the last is current).
    def list_versions(key_id)
      function = 'key_manager_list_versions'
      with_id(function, key_id) do |km, id|
        count = FFI::MemoryPointer.new(:size_t)
        cap = 8
        loop do
          out = FFI::MemoryPointer.new(:uint32, cap)
          status = Native.codomyrmex_key_manager_list_versions(km, id, out, cap, count)
          n = count.read(:size_t)
          if status == Status::BUFFER_TOO_SMALL && n > cap
            cap = n
            next
          end
          Support.check(function, status)
          break out.get_array_of_uint32(0, n)
        end
      end
    end

    # Removes all but the newest +keep_newest+ versions (at least 1). Tagged
    # MACs of a removed version no longer verify. Returns nil.
    def prune(key_id, keep_newest)
      function = 'key_manager_prune'
      keep_newest = Support.uint32(keep_newest, function, 'keep_newest')
      with_id(function, key_id) do |km, id|
        Support.check(function, Native.codomyrmex_key_manager_prune(km, id, keep_newest))
      end
      nil
    end

    # HMAC-+alg+ of +data+ under version +version+ of +key_id+ (0: current).
    def hmac_version(key_id, version, alg, data)
      function = version.equal?(0) ? 'key_manager_hmac' : 'key_manager_hmac_version'
      version = Support.uint32(version, function, 'version')
      alg = Support.alg(alg)
      data = Support.bytes(data)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(data) do |d|
          Support.fetch(function, MAX_DIGEST_LEN) do |out, cap, len|
            if version.zero?
              Native.codomyrmex_key_manager_hmac(km, id, alg, d, data.bytesize, out, cap, len)
            else
              Native.codomyrmex_key_manager_hmac_version(km, id, version, alg, d, data.bytesize, out, cap, len)
            end
          end
        end
      end
    end

    # HKDF-+alg+ with version +version+ of +key_id+ (0: current) as input key
    # material: +length+ bytes, yours to wipe.
    def derive_version(key_id, version, alg, length, salt: nil, info: nil)
      function = version.equal?(0) ? 'key_manager_derive' : 'key_manager_derive_version'
      version = Support.uint32(version, function, 'version')
      alg = Support.alg(alg)
      length = Support.okm_length(length, function)
      salt = Support.bytes(salt)
      info = Support.bytes(info)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(salt, info) do |s, i|
          Support.with_output(length) do |okm|
            status = if version.zero?
                       Native.codomyrmex_key_manager_derive(km, id, alg, s, salt.bytesize, i, info.bytesize,
                                                            okm, length)
                     else
                       Native.codomyrmex_key_manager_derive_version(km, id, version, alg, s, salt.bytesize,
                                                                    i, info.bytesize, okm, length)
                     end
            Support.check(function, status)
            Support.read(okm, length)
          end
        end
      end
    end

    # A tagged MAC of +data+ with the current version of +key_id+:
    # 0x01, the version (4 bytes, big-endian), then the HMAC. It keeps
    # verifying with #hmac_verify_tagged after rotations, until its version
    # is pruned.
    def hmac_tagged(key_id, alg, data)
      function = 'key_manager_hmac_tagged'
      alg = Support.alg(alg)
      data = Support.bytes(data)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(data) do |d|
          Support.fetch(function, TAG_OVERHEAD + MAX_DIGEST_LEN) do |out, cap, len|
            Native.codomyrmex_key_manager_hmac_tagged(km, id, alg, d, data.bytesize, out, cap, len)
          end
        end
      end
    end

    # Checks the tagged MAC +tag+ against +data+ with the version of +key_id+
    # it names. Returns true; raises VerifyFailedError (bad format, wrong
    # length, pruned or unknown version, MAC mismatch), or NotFoundError
    # when +key_id+ does not exist.
    def hmac_verify_tagged(key_id, alg, data, tag)
      verify('key_manager_hmac_verify_tagged', key_id, alg, data, tag) do |km, id, a, d, dn, t, tn|
        Native.codomyrmex_key_manager_hmac_verify_tagged(km, id, a, d, dn, t, tn)
      end
    end

    # -- Staged rotation: a version every host verifies before any signs. --

    # Adds +key+ (1 to MAX_KEY_LEN bytes) as a staged version of the
    # existing key +key_id+ and returns its number. A staged version is
    # listed, readable with #get_version and accepted by
    # #hmac_verify_tagged, but not used to make MACs until #promote.
    # NotFoundError if +key_id+ does not exist.
    def stage(key_id, key)
      function = 'key_manager_stage'
      key = Support.bytes(key)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(key) do |k|
          version_out(function) { |out| Native.codomyrmex_key_manager_stage(km, id, k, key.bytesize, out) }
        end
      end
    end

    # Like #stage with a random key of +length+ bytes; returns its number.
    def stage_generate(key_id, length = 32)
      function = 'key_manager_stage_generate'
      length = Support.length(length, function)
      with_id(function, key_id) do |km, id|
        version_out(function) { |out| Native.codomyrmex_key_manager_stage_generate(km, id, length, out) }
      end
    end

    # Makes the staged +version+ of +key_id+ current (the version it
    # replaces is kept); NotFoundError unless +version+ is staged. Returns
    # nil.
    def promote(key_id, version)
      function = 'key_manager_promote'
      version = Support.uint32(version, function, 'version')
      with_id(function, key_id) do |km, id|
        Support.check(function, Native.codomyrmex_key_manager_promote(km, id, version))
      end
      nil
    end

    # Seals every plain key file and version record under the KEK the
    # manager was opened with, each atomically; returns how many files were
    # rewritten (0 when everything was sealed already). InvalidArgumentError
    # without a KEK or on a read-only source.
    def seal_all
      function = 'key_manager_seal_all'
      use(function) do |km|
        out = FFI::MemoryPointer.new(:size_t)
        Support.check(function, Native.codomyrmex_key_manager_seal_all(km, out))
        out.read(:size_t)
      end
    end

    # -- Keyrings ------------------------------------------------------------

    # Loads every version of +key_id+ into a Keyring for MACs with +alg+.
    # With +refresh_ms+ > 0 a call on the keyring checks at most that often
    # whether the key changed and reloads it; with 0, only Keyring#refresh
    # does. The keyring outlives this manager. With a block, yields the
    # keyring, closes it afterwards and returns the block's value.
    def load(key_id, alg, refresh_ms: 0, &block)
      function = 'key_manager_load'
      alg = Support.alg(alg)
      refresh_ms = Support.uint32(refresh_ms, function, 'refresh_ms')
      ptr = with_id(function, key_id) do |km, id|
        out = FFI::MemoryPointer.new(:pointer)
        Support.check(function, Native.codomyrmex_key_manager_load(km, id, alg, refresh_ms, out))
        out.read_pointer
      end
      Support.closing(Keyring.send(:new, ptr, key_id.to_s, alg), &block)
    end

    def inspect
      "#<#{self.class.name} #{closed? ? 'closed' : dir.inspect}>"
    end

    private

    # Takes ownership of the native handle +ptr+, opened from +location+.
    def adopt(ptr, location)
      where = location.nil? ? 'the default key directory' : "'#{location}'"
      @handle = Handle.new(ptr, Native.method(:codomyrmex_key_manager_free), 'key manager',
                           "codomyrmex_keys: a KeyManager for #{where} was garbage-collected without close; " \
                           'use the block form KeyManager.open(dir) { |km| ... } or call close')
    end

    # Runs the block with the live handle; #close waits until it is done.
    def use(function, &block)
      @handle.use(function, &block)
    end

    # Yields a uint32 out-pointer to a call and returns the number it wrote.
    def version_out(function)
      out = FFI::MemoryPointer.new(:uint32)
      Support.check(function, yield(out))
      out.read(:uint32)
    end

    def with_id(function, key_id)
      id = Support.key_id(key_id, function)
      use(function) { |km| yield km, id }
    end

    def put(function, key_id, key)
      key = Support.bytes(key)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(key) do |k|
          Support.check(function, yield(km, id, k, key.bytesize))
        end
      end
      nil
    end

    def verify(function, key_id, alg, data, mac)
      alg = Support.alg(alg)
      data = Support.bytes(data)
      mac = Support.bytes(mac)
      with_id(function, key_id) do |km, id|
        Support.with_inputs(data, mac) do |d, m|
          Support.check(function, yield(km, id, alg, d, data.bytesize, m, mac.bytesize))
        end
      end
      true
    end
  end
end
