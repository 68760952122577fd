# frozen_string_literal: true

require_relative 'test_helper'
require 'open3'
require 'rbconfig'

# Drift: the bindings against abi/codomyrmex_keys.abi, the one description of
# the C interface. Every function of the .abi file must be in
# Native::FUNCTIONS (and nothing else) with the same return and parameter
# types; every constant and status value must be the bindings'. A library of
# another major version, or of an older minor version than the functions
# need, is refused when the gem loads.
class AbiTest < Minitest::Test
  include TestHelpers

  ABI_FILE = File.expand_path('../../../abi/codomyrmex_keys.abi', __dir__)

  # C types -> what the ABI cares about.
  C_KINDS = {
    'void' => :void, 'bool' => :bool, 'size_t' => :size_t, 'uint32_t' => :u32,
    'codomyrmex_hash_alg' => :u32, 'codomyrmex_status' => :int, 'int32_t' => :i32
  }.freeze
  # FFI types -> the same.
  FFI_KINDS = {
    void: :void, bool: :bool, size_t: :size_t, uint32: :u32, hash_alg: :u32,
    status: :int, int: :int, int32: :i32, pointer: :ptr, string: :ptr
  }.freeze

  def c_kind(type)
    return :ptr if type.end_with?('*')

    C_KINDS.fetch(type) { flunk "the drift test does not know the C type #{type.inspect}: add it to C_KINDS" }
  end

  def ffi_kind(type)
    FFI_KINDS.fetch(type) { flunk "the drift test does not know the FFI type #{type.inspect}: add it to FFI_KINDS" }
  end

  def abi
    @abi ||= begin
      parsed = { major: nil, functions: {}, defines: {}, statuses: {} }
      File.foreach(ABI_FILE, chomp: true) do |line|
        next if line.strip.empty? || line.start_with?('#')

        if line.start_with?('major ')
          parsed[:major] = Integer(line.split[1])
          next
        end
        key, value = line.split(' = ', 2)
        what, name = key.split(' ', 2)
        case what
        when 'function'
          ret, params = value.match(/\A(.+?)\((.*)\)\z/).captures
          parsed[:functions][name] = [c_kind(ret.strip), params.split(',').map { |p| c_kind(p.strip) }]
        when 'define' then parsed[:defines][name] = Integer(value)
        when 'enum' then parsed[:statuses][name] = Integer(value)
        end
      end
      parsed
    end
  end

  def setup
    skip 'abi/codomyrmex_keys.abi is not beside this copy of the bindings' unless File.file?(ABI_FILE)
  end

  def test_major_version
    assert_equal abi[:major], K::Native::ABI_MAJOR
  end

  def test_function_table
    table = K::Native::FUNCTIONS.to_h { |name, args, ret| [name.to_s, [ffi_kind(ret), args.map { |a| ffi_kind(a) }]] }
    assert_empty abi[:functions].keys - table.keys, 'in the .abi file, not in Native::FUNCTIONS'
    assert_empty table.keys - abi[:functions].keys, 'in Native::FUNCTIONS, not in the .abi file'
    abi[:functions].each { |name, signature| assert_equal signature, table[name], name }
  end

  def test_constants_and_statuses
    abi[:defines].each do |name, value|
      assert_equal value, K.const_get(name.delete_prefix('CODOMYRMEX_')), name
    end
    expected = abi[:statuses].to_h { |name, value| [name.delete_prefix('CODOMYRMEX_').delete_prefix('ERR_'), value] }
    actual = K::Status.constants.to_h { |c| [c.to_s, K::Status.const_get(c)] }
    assert_equal expected, actual
  end
end

# Runs whether or not the .abi file is there.
class LibraryVersionTest < Minitest::Test
  # Loads the gem in a child process over a fake library reporting +version+.
  def load_with_version(version)
    Dir.mktmpdir('codomyrmex-rb-abi') do |dir|
      File.write(File.join(dir, 'fake.c'), "const char *codomyrmex_version(void) { return \"#{version}\"; }\n")
      lib = File.join(dir, 'libcodomyrmex_keys.so.1')
      _, status = Open3.capture2e('cc', '-shared', '-fPIC', '-o', lib, File.join(dir, 'fake.c'))
      skip 'no C compiler' unless status.success?
      lib_dir = File.expand_path('../lib', __dir__)
      Open3.capture2e({ 'CODOMYRMEX_KEYS_LIB_DIR' => dir }, RbConfig.ruby, '-I', lib_dir, '-e', 'require "codomyrmex_keys"')
    end
  end

  def test_another_major_version_is_refused
    out, status = load_with_version('2.0.0')
    refute status.success?
    assert_match(/is version 2\.0\.0 of the library, but this gem needs version 1\.x/, out)
  end

  def test_an_older_minor_version_is_refused
    assert_equal 1, CodomyrmexKeys::Native::ABI_MINOR
    out, status = load_with_version('1.0.3')
    refute status.success?
    assert_match(/is version 1\.0\.3 of the library, but this gem needs version 1\.1 or later/, out)
  end
end
