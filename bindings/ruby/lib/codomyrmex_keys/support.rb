# frozen_string_literal: true

module CodomyrmexKeys
  # Plumbing shared by the wrappers: argument conversion, buffers, and the
  # translation of statuses into exceptions. Not part of the public API.
  module Support
    module_function

    EMPTY = ''.b.freeze
    UINT32_MAX = 0xffff_ffff
    SIZE_MAX = (1 << (8 * FFI.type_size(:size_t))) - 1

    # Raises the exception for +status+ unless it is OK. Must run right
    # after the failing call, on the same thread: the library keeps the
    # last error message per thread.
    def check(function, status)
      return if status.zero?

      raise Error.for_status(status).new(last_error_message, status: status, function: function,
                                                             errno: Native.codomyrmex_last_os_error)
    end

    def last_error_message
      cap = 256
      loop do
        buf = FFI::MemoryPointer.new(:char, cap)
        n = Native.codomyrmex_last_error_message(buf, cap)
        return buf.get_bytes(0, n).force_encoding(Encoding::UTF_8).scrub if n < cap

        cap = n + 1
      end
    end

    # Yields +resource+ and closes it, returning the block's value; without
    # a block, returns +resource+ (the block form of open and load).
    def closing(resource)
      return resource unless block_given?

      begin
        yield resource
      ensure
        resource.close
      end
    end

    def fail!(klass, function, message)
      raise klass.new(message, function: function)
    end

    # The bytes of +value+ (a String, or anything with #to_str); nil is
    # empty. No copy is made: the String is read in place.
    def bytes(value)
      return EMPTY if value.nil?
      return value if value.is_a?(String)
      return value.to_str if value.respond_to?(:to_str)

      raise TypeError, "expected a String of bytes, got #{value.class}"
    end

    # Copies +strings+ into C memory for a call that releases the GVL
    # (another thread could otherwise change a String under the library's
    # feet), yields the pointers (nil for an empty String) and wipes them.
    def with_inputs(*strings)
      ptrs = strings.map do |s|
        next nil if s.bytesize.zero?

        FFI::MemoryPointer.new(:uint8, s.bytesize).tap { |p| p.put_bytes(0, s) }
      end
      yield(*ptrs)
    ensure
      ptrs&.each { |p| wipe(p) }
    end

    # Yields a C buffer of +n+ bytes (nil if 0) for a fixed-size output and
    # wipes it afterwards, whatever happens.
    def with_output(n)
      buf = n.zero? ? nil : FFI::MemoryPointer.new(:uint8, n)
      yield buf
    ensure
      wipe(buf)
    end

    # Runs a call with a variable-size output (out, cap, out_len), starting
    # with +guess+ bytes and retrying with the size the library asks for
    # while it answers BUFFER_TOO_SMALL (the size can change between calls
    # when another thread or process rewrites a key). Returns the bytes as a
    # binary String; every C buffer is wiped.
    def fetch(function, guess)
      len = FFI::MemoryPointer.new(:size_t)
      cap = guess
      loop do
        buf = cap.zero? ? nil : FFI::MemoryPointer.new(:uint8, cap)
        begin
          status = yield(buf, cap, len)
          n = len.read(:size_t)
          if status == Status::BUFFER_TOO_SMALL && n > cap
            cap = n
            next
          end
          check(function, status)
          return read(buf, n)
        ensure
          wipe(buf)
        end
      end
    end

    # The first +n+ bytes of +buf+ as a binary String (+buf+ is nil when n
    # is 0).
    def read(buf, n)
      n.zero? ? EMPTY.dup : buf.get_bytes(0, n)
    end

    def wipe(ptr)
      return if ptr.nil?

      Native.codomyrmex_secure_zero(ptr, ptr.size)
      ptr.free
    end

    # An algorithm number from an Integer, Symbol or String.
    def alg(value)
      case value
      when Integer
        return value if value.between?(0, UINT32_MAX)

        fail!(UnsupportedAlgorithmError, 'hash_alg', "algorithm #{value} is not a uint32")
      when Symbol, String
        name = value.to_s
        fail!(UnsupportedAlgorithmError, 'hash_alg_from_name', 'algorithm name contains a NUL byte') if name.include?("\0")
        out = FFI::MemoryPointer.new(:uint32)
        check('hash_alg_from_name', Native.codomyrmex_hash_alg_from_name(FFI::MemoryPointer.from_string(name), out))
        out.read(:uint32)
      else
        raise TypeError, "expected an algorithm (Integer, Symbol or String), got #{value.class}"
      end
    end

    # An Integer (or anything with #to_int); Strings are not numbers here.
    def int(value)
      return value if value.is_a?(Integer)
      return value.to_int if value.respond_to?(:to_int)

      raise TypeError, "expected an Integer, got #{value.class}"
    end

    # A byte count that must not be negative.
    def length(value, function)
      n = int(value)
      fail!(InvalidArgumentError, function, "length #{n} is negative") if n.negative?
      fail!(InvalidArgumentError, function, "length #{n} does not fit in a size_t") if n > SIZE_MAX
      n
    end

    # An HKDF output length. 0 and the exact upper bound of each algorithm
    # are left to the library; only what could not be allocated is refused
    # here.
    def okm_length(value, function)
      n = int(value)
      if n.negative? || n > 255 * MAX_DIGEST_LEN
        fail!(InvalidArgumentError, function, "output length #{n} is out of range (1 to 255 x digest length)")
      end
      n
    end

    # A version number or count (uint32).
    def uint32(value, function, what)
      n = int(value)
      fail!(InvalidArgumentError, function, "#{what} #{n} is out of range (0 to #{UINT32_MAX})") unless n.between?(0, UINT32_MAX)
      n
    end

    # A path (a String, or a Pathname or anything with #to_path) as a
    # NUL-terminated C string, nil for nil; +what+ names it in errors. A
    # relative path object gets a ./ prefix, so a directory named a:b is
    # never read as a location scheme.
    def path(value, function, what)
      return nil if value.nil?

      path = value.respond_to?(:to_path) ? value.to_path : bytes(value)
      fail!(InvalidArgumentError, function, "#{what} path contains a NUL byte") if path.include?("\0")
      path = "./#{path}" if value.respond_to?(:to_path) && !path.start_with?('/')
      FFI::MemoryPointer.from_string(path)
    end

    # true or false, nothing else.
    def bool(value, function, what)
      return value if [true, false].include?(value)

      raise TypeError, "#{function}: #{what} must be true or false, got #{value.inspect}"
    end

    # A name (a systemd credential) as a NUL-terminated C string.
    def name(value, function, what)
      name = value.is_a?(Symbol) ? value.to_s : bytes(value)
      fail!(InvalidArgumentError, function, "#{what} contains a NUL byte") if name.include?("\0")
      FFI::MemoryPointer.from_string(name)
    end

    # The key id as a NUL-terminated C string. A NUL byte inside would cut
    # the id short in C, so it is refused with the status the library gives
    # any invalid id.
    def key_id(value, function)
      id = value.is_a?(Symbol) ? value.to_s : bytes(value)
      fail!(InvalidKeyIdError, function, 'key id contains a NUL byte') if id.include?("\0")
      FFI::MemoryPointer.from_string(id)
    end
  end
end
