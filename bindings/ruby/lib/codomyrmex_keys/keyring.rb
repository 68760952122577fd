# frozen_string_literal: true

module CodomyrmexKeys
  # Every version of one key (current, older and staged) in memory, loaded
  # by KeyManager#load: a MAC reads no file, and gives the same bytes as the
  # key manager's #hmac and #hmac_tagged.
  #
  #   km.load('api', :sha256, refresh_ms: 1000) do |ring|
  #     tag = ring.hmac_tagged(request_body)
  #     ring.hmac_verify_tagged(request_body, tag)  # => true, or raises
  #   end
  #
  # A key deleted from the store is wiped: calls then raise NotFoundError.
  # A keyring keeps working after its KeyManager is closed, and may be used
  # by many threads at once, a refresh included (its calls release the
  # GVL). Close it with #close or the block form; one never closed is freed
  # by the garbage collector, with a warning.
  class Keyring
    # The id of the key it holds.
    attr_reader :key_id
    # The algorithm number of every MAC it makes and checks.
    attr_reader :alg

    private_class_method :new

    def initialize(ptr, key_id, alg)
      @key_id = key_id
      @alg = alg
      @handle = Handle.new(ptr, Native.method(:codomyrmex_keyring_free), 'keyring',
                           "codomyrmex_keys: a Keyring for key '#{key_id}' was garbage-collected without close; " \
                           'use the block form km.load(id, alg) { |ring| ... } or call close')
    end

    # Wipes the keys and releases the keyring, after the calls in progress
    # in other threads. Idempotent; any later call raises NullPointerError.
    def close
      @handle.close
    end

    def closed?
      @handle.closed?
    end

    # Checks the store now and reloads the key if it changed; returns
    # whether the keys served changed. Raises the store's error if the check
    # or the reload fails (the last good keys are still served),
    # NotFoundError if the key was deleted.
    def refresh
      out('keyring_refresh', :bool) { |kr, changed| Native.codomyrmex_keyring_refresh(kr, changed) }
    end

    # The number of the version MACs are made with now.
    def current_version
      out('keyring_current_version', :uint32) { |kr, version| Native.codomyrmex_keyring_current_version(kr, version) }
    end

    # HMAC of +data+ with the current version, as a binary String.
    def hmac(data)
      mac('keyring_hmac', data, MAX_DIGEST_LEN) do |kr, d, n, buf, cap, len|
        Native.codomyrmex_keyring_hmac(kr, d, n, buf, cap, len)
      end
    end

    # Checks +mac+ against the HMAC of +data+ with the current version, in
    # constant time. Returns true or raises VerifyFailedError.
    def hmac_verify(data, mac)
      verify('keyring_hmac_verify', data, mac) { |kr, d, dn, m, mn| Native.codomyrmex_keyring_hmac_verify(kr, d, dn, m, mn) }
    end

    # A tagged MAC of +data+ with the current version: 0x01, the version
    # (4 bytes, big-endian), then the HMAC.
    def hmac_tagged(data)
      mac('keyring_hmac_tagged', data, TAG_OVERHEAD + MAX_DIGEST_LEN) do |kr, d, n, buf, cap, len|
        Native.codomyrmex_keyring_hmac_tagged(kr, d, n, buf, cap, len)
      end
    end

    # Checks the tagged MAC +tag+ with the version it names (any version
    # the keyring holds, staged ones included). Returns true; raises
    # VerifyFailedError for a mismatch, a bad format or a version it does
    # not hold.
    def hmac_verify_tagged(data, tag)
      verify('keyring_hmac_verify_tagged', data, tag) do |kr, d, dn, t, tn|
        Native.codomyrmex_keyring_hmac_verify_tagged(kr, d, dn, t, tn)
      end
    end

    def inspect
      "#<#{self.class.name} #{key_id.inspect} sha#{8 * CodomyrmexKeys.digest_length(alg)}#{' closed' if closed?}>"
    end

    private

    # Yields the handle and an out-pointer of +type+ to a call; returns what
    # it wrote.
    def out(function, type)
      @handle.use(function) do |kr|
        ptr = FFI::MemoryPointer.new(type)
        Support.check(function, yield(kr, ptr))
        type == :bool ? ptr.read(:uint8) != 0 : ptr.read(type)
      end
    end

    def mac(function, data, cap)
      data = Support.bytes(data)
      @handle.use(function) do |kr|
        Support.with_inputs(data) do |d|
          Support.fetch(function, cap) { |buf, c, len| yield(kr, d, data.bytesize, buf, c, len) }
        end
      end
    end

    def verify(function, data, mac)
      data = Support.bytes(data)
      mac = Support.bytes(mac)
      @handle.use(function) do |kr|
        Support.with_inputs(data, mac) do |d, m|
          Support.check(function, yield(kr, d, data.bytesize, m, mac.bytesize))
        end
      end
      true
    end
  end
end
