# frozen_string_literal: true

module CodomyrmexKeys
  # A streaming HMAC, for data that does not fit in memory.
  #
  #   CodomyrmexKeys::Hmac.open(:sha256, key) do |h|
  #     File.open(path, 'rb') { |f| h << f.read(65_536) until f.eof? }
  #     h.finish                      # => MAC; the stream is reset
  #   end
  #
  # #finish and #finish_verify reset the stream to its keyed start, so one
  # stream serves many messages under the same key. #close wipes and
  # releases it; the garbage collector does so for a stream you forget.
  class Hmac
    attr_reader :digest_length

    # Runs the block with a new stream and closes it afterwards; without a
    # block, the same as new.
    def self.open(alg, key)
      stream = new(alg, key)
      return stream unless block_given?

      begin
        yield stream
      ensure
        stream.close
      end
    end

    # Starts HMAC-+alg+ under +key+ (any length, empty included).
    def initialize(alg, key)
      alg = Support.alg(alg)
      key = Support.bytes(key)
      out = FFI::MemoryPointer.new(:pointer)
      Support.check('hmac_new', Native.codomyrmex_hmac_new(alg, key, key.bytesize, out))
      @ctx = FFI::AutoPointer.new(out.read_pointer, Native.method(:codomyrmex_hmac_free))
      @digest_length = Native.codomyrmex_hash_digest_len(alg)
    end

    # Feeds +data+ to the stream; returns self.
    def update(data)
      data = Support.bytes(data)
      Support.check('hmac_update', Native.codomyrmex_hmac_update(ctx('hmac_update'), data, data.bytesize))
      self
    end
    alias << update

    # The MAC of everything fed since the stream started or last finished,
    # as a binary String. Resets the stream.
    def finish
      handle = ctx('hmac_finish')
      Support.fetch('hmac_finish', MAX_DIGEST_LEN) do |out, cap, len|
        Native.codomyrmex_hmac_finish(handle, out, cap, len)
      end
    end

    # Checks +mac+ against the MAC of everything fed since the stream
    # started or last finished, in constant time, and resets the stream.
    # Returns true or raises VerifyFailedError.
    def finish_verify(mac)
      mac = Support.bytes(mac)
      Support.check('hmac_finish_verify',
                    Native.codomyrmex_hmac_finish_verify(ctx('hmac_finish_verify'), mac, mac.bytesize))
      true
    end

    # Discards what was fed; returns self.
    def reset
      finish
      self
    end

    # Wipes and releases the stream. Idempotent; any later use raises
    # NullPointerError.
    def close
      @ctx&.free
      @ctx = nil
    end

    def closed?
      @ctx.nil?
    end

    private

    def ctx(function)
      @ctx or raise NullPointerError.new('HMAC stream is closed', function: function)
    end
  end
end
