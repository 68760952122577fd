# frozen_string_literal: true

module CodomyrmexKeys
  # The options of KeyManager.open_with and the C setter of each. Not part
  # of the public API: pass the options as keywords to open_with.
  module OpenOptions
    # Each option: its C setter and how its Ruby value is converted (a
    # Support method, or a Hash of FIELDS for a setter of several
    # arguments). A new option is one line here.
    SETTERS = {
      read_only: %i[codomyrmex_open_options_set_read_only bool],
      trusted_uid: %i[codomyrmex_open_options_set_trusted_uid uint32],
      lock_timeout_ms: %i[codomyrmex_open_options_set_lock_timeout_ms uint32],
      kek_file: %i[codomyrmex_open_options_set_kek_file path],
      kek_credential: %i[codomyrmex_open_options_set_kek_credential name],
      require_sealed: %i[codomyrmex_open_options_set_require_sealed bool],
      timeout_ms: %i[codomyrmex_open_options_set_timeout_ms uint32],
      tls: %i[codomyrmex_open_options_set_tls tls],
      auth: %i[codomyrmex_open_options_set_auth auth]
    }.freeze

    # The options given as a Hash: each key, in the setter's argument
    # order, with its Support conversion and whether it is required.
    FIELDS = {
      tls: { ca_file: [:path, false], cert_file: [:path, false], key_file: [:path, false] },
      auth: { user: [:name, true], password_file: [:path, true] }
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

      # Every value converted before the native object exists.
      values = options.compact.map do |name, value|
        setter, kind = SETTERS.fetch(name)
        [setter, arguments(kind, value, name)]
      end
      return yield nil if values.empty?

      out = FFI::MemoryPointer.new(:pointer)
      Support.check('open_options_new', Native.codomyrmex_open_options_new(out))
      opts = out.read_pointer
      begin
        values.each { |setter, args| Support.check(setter.to_s.delete_prefix('codomyrmex_'), Native.send(setter, opts, *args)) }
        yield opts
      ensure
        Native.codomyrmex_open_options_free(opts)
      end
    end

    # The setter's arguments after the options object for the option +name+
    # of +kind+. A Hash option must be a Hash of its FIELDS: an unknown key
    # or a missing required one raises ArgumentError, as keywords do.
    def arguments(kind, value, name)
      fields = FIELDS[kind]
      return [Support.send(kind, value, FUNCTION, name)] unless fields

      known = fields.keys.join(', ')
      raise TypeError, "#{FUNCTION}: #{name} must be a Hash (#{known}), got #{value.class}" unless value.is_a?(Hash)

      unknown = value.keys - fields.keys
      raise ArgumentError, "unknown key #{unknown.map(&:inspect).join(', ')} of #{name} (known: #{known})" if unknown.any?

      fields.map do |field, (convert, required)|
        raise ArgumentError, "missing key :#{field} of #{name}" if required && value[field].nil?

        Support.send(convert, value[field], FUNCTION, "#{name}[:#{field}]")
      end
    end
  end
end
