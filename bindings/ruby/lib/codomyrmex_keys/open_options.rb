# frozen_string_literal: true

module CodomyrmexKeys
  # The options of KeyManager.open_with and the C setter of each. Not part
  # of the public API: pass the options as keywords to open_with.
  module OpenOptions
    # Each option: its C setter and how its Ruby value is converted (a
    # Support method). A new option is one line here.
    SETTERS = {
      read_only: %i[codomyrmex_open_options_set_read_only bool],
      trusted_uid: %i[codomyrmex_open_options_set_trusted_uid uint32],
      lock_timeout_ms: %i[codomyrmex_open_options_set_lock_timeout_ms uint32],
      kek_file: %i[codomyrmex_open_options_set_kek_file path],
      kek_credential: %i[codomyrmex_open_options_set_kek_credential name],
      require_sealed: %i[codomyrmex_open_options_set_require_sealed bool]
    }.freeze

    FUNCTION = 'key_manager_open_with'
    private_constant :FUNCTION

    module_function

    # Yields a native options object with every option of +options+ that is
    # not nil set (nil when there is none), and frees it afterwards. An
    # unknown option raises ArgumentError, as an unknown keyword does.
    def with_native(options)
      unknown = options.keys - SETTERS.keys
      raise ArgumentError, "unknown open option #{unknown.map(&:inspect).join(', ')} (known: #{SETTERS.keys.join(', ')})" if unknown.any?

      values = options.compact.map do |name, value|
        setter, kind = SETTERS.fetch(name)
        [setter, kind == :uint32 ? Support.uint32(value, FUNCTION, name) : Support.send(kind, value, FUNCTION, name)]
      end
      return yield nil if values.empty?

      out = FFI::MemoryPointer.new(:pointer)
      Support.check('open_options_new', Native.codomyrmex_open_options_new(out))
      opts = out.read_pointer
      begin
        values.each { |setter, value| Support.check(setter.to_s.delete_prefix('codomyrmex_'), Native.send(setter, opts, value)) }
        yield opts
      ensure
        Native.codomyrmex_open_options_free(opts)
      end
    end
  end
end
