# frozen_string_literal: true

require_relative 'test_helper'

class ErrorsTest < Minitest::Test
  include TestHelpers

  INVALID_IDS = [
    '', '.', '..', '.hidden', 'a/b', '../escape', 'a\\b', 'a b', "tab\t", 'café',
    "nul\0byte", "\0", 'a' * (K::MAX_KEY_ID_LEN + 1), 'semi;colon', 'star*'
  ].freeze

  def key_manager_calls(km)
    {
      store: ->(id) { km.store(id, 'k') },
      create: ->(id) { km.create(id, 'k') },
      generate: ->(id) { km.generate(id, 16) },
      get: ->(id) { km.get(id) },
      exists?: ->(id) { km.exists?(id) },
      delete: ->(id) { km.delete(id) },
      rotate: ->(id) { km.rotate(id, 'k') },
      hmac: ->(id) { km.hmac(id, :sha256, '') },
      hmac_verify: ->(id) { km.hmac_verify(id, :sha256, '', "\0" * 32) },
      derive: ->(id) { km.derive(id, :sha256, 16) },
      current_version: ->(id) { km.current_version(id) },
      get_version: ->(id) { km.get_version(id, 1) },
      list_versions: ->(id) { km.list_versions(id) },
      prune: ->(id) { km.prune(id, 1) },
      hmac_version: ->(id) { km.hmac_version(id, 1, :sha256, '') },
      derive_version: ->(id) { km.derive_version(id, 1, :sha256, 16) },
      hmac_tagged: ->(id) { km.hmac_tagged(id, :sha256, '') },
      hmac_verify_tagged: ->(id) { km.hmac_verify_tagged(id, :sha256, '', "\0" * 37) }
    }
  end

  # Every method taking a key id refuses a bad one with InvalidKeyIdError
  # and a message, and never touches the disk.
  def test_invalid_key_ids
    km, dir = open_temp
    key_manager_calls(km).each do |name, call|
      INVALID_IDS.each do |id|
        err = assert_raises(K::InvalidKeyIdError, "#{name}(#{id.inspect})") { call.call(id) }
        assert_equal K::Status::INVALID_KEY_ID, err.status
        assert_equal 'CODOMYRMEX_ERR_INVALID_KEY_ID', err.status_name
        refute_empty err.detail
      end
    end
    assert_empty Dir.glob(File.join(dir, '*.key'))
    ['a' * K::MAX_KEY_ID_LEN, 'A-Z.a_z-0.9', 'x', 'a..b', '-dash', :symbol_id].each do |id|
      km.store(id, 'k')
      assert km.exists?(id)
    end
    assert_raises(TypeError) { km.get(42) }
  end

  # Algorithm 99 (and 0) is UnsupportedAlgorithmError everywhere.
  def test_unknown_algorithm
    km, = open_temp
    km.store('k', 'key')
    tag = km.hmac_tagged('k', :sha256, '')
    [0, 4, 99, 1 << 31].each do |alg|
      {
        hmac: -> { K.hmac(alg, 'k', '') },
        hmac_verify: -> { K.hmac_verify(alg, 'k', '', "\0" * 32) },
        stream: -> { K::Hmac.new(alg, 'k') },
        hkdf: -> { K.hkdf(alg, 'ikm', 16) },
        hkdf_extract: -> { K.hkdf_extract(alg, 'ikm') },
        hkdf_expand: -> { K.hkdf_expand(alg, "\0" * 64, 16) },
        km_hmac: -> { km.hmac('k', alg, '') },
        km_hmac_verify: -> { km.hmac_verify('k', alg, '', "\0" * 32) },
        km_derive: -> { km.derive('k', alg, 16) },
        km_hmac_version: -> { km.hmac_version('k', 1, alg, '') },
        km_derive_version: -> { km.derive_version('k', 1, alg, 16) },
        km_hmac_tagged: -> { km.hmac_tagged('k', alg, '') },
        km_hmac_verify_tagged: -> { km.hmac_verify_tagged('k', alg, '', tag) }
      }.each do |name, call|
        err = assert_raises(K::UnsupportedAlgorithmError, "#{name} with #{alg}") { call.call }
        assert_equal 4, err.status
        assert_includes err.message, 'CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM'
      end
    end
    assert_raises(K::UnsupportedAlgorithmError) { K.hmac(:md5, 'k', '') }
  end

  def test_error_values
    km, = open_temp
    err = assert_raises(K::NotFoundError) { km.get('absent') }
    assert_kind_of K::Error, err
    assert_kind_of StandardError, err
    assert_equal 6, err.status
    assert_equal 'key_manager_get', err.function
    assert_includes err.detail, 'absent'
    assert_match(/\Akey_manager_get: .*absent.* \(CODOMYRMEX_ERR_NOT_FOUND\)\z/, err.message)

    err = assert_raises(K::VerifyFailedError) { K.hmac_verify(:sha256, 'k', 'm', "\0" * 32) }
    assert_equal K::Status::VERIFY_FAILED, err.status
    assert_equal 'hmac_verify', err.function

    # One class per status, each knowing its number.
    expected = %w[NullPointer InvalidArgument InvalidKeyId UnsupportedAlgorithm BufferTooSmall NotFound
                  AlreadyExists VerifyFailed IO InsecurePermissions Corrupt Internal]
    expected.each_with_index do |name, i|
      klass = K.const_get("#{name}Error")
      assert_equal i + 1, klass::STATUS
      assert_same klass, K::Error.for_status(i + 1)
      assert klass < K::Error
    end
    assert_same K::Error, K::Error.for_status(77)
    unknown = K::Error.new('odd', status: 77)
    assert_equal 'CODOMYRMEX_UNKNOWN_STATUS', unknown.status_name
    refute K::IOError <= ::IOError, 'CodomyrmexKeys::IOError is the library status, not Ruby\'s IOError'
  end

  # The statuses the file system produces reach Ruby with their messages.
  def test_filesystem_errors
    base = Dir.mktmpdir
    open_dir = File.join(base, 'open')
    Dir.mkdir(open_dir)
    File.chmod(0o777, open_dir)
    err = assert_raises(K::InsecurePermissionsError) { K::KeyManager.open(open_dir) }
    assert_includes err.message, open_dir
    link = File.join(base, 'link')
    File.symlink(Dir.mktmpdir, link)
    assert_raises(K::InsecurePermissionsError) { K::KeyManager.open(link) }
    file = File.join(base, 'file')
    File.write(file, 'x')
    assert_raises(K::IOError) { K::KeyManager.open(file) }
    assert_raises(K::InvalidArgumentError) { K::KeyManager.open('') }
    assert_raises(K::InvalidArgumentError) { K::KeyManager.open("bad\0dir") }

    km, dir = open_temp
    km.store('loose', 'k')
    File.chmod(0o644, File.join(dir, 'loose.key'))
    assert_raises(K::InsecurePermissionsError) { km.get('loose') }
    File.open(File.join(dir, 'empty.key'), 'w', 0o600) {}
    assert_raises(K::CorruptError) { km.get('empty') }
    Dir.mkdir(File.join(dir, 'adir.key'), 0o700)
    assert_raises(K::CorruptError) { km.exists?('adir') }
  ensure
    FileUtils.rm_rf(File.readlink(link)) if link && File.symlink?(link)
    FileUtils.rm_rf(base) if base
  end

  def test_argument_types
    assert_raises(TypeError) { K.hmac(:sha256, 42, 'data') }
    assert_raises(TypeError) { K.hmac(:sha256, 'key', Object.new) }
    assert_raises(TypeError) { K.hkdf(:sha256, 'ikm', 'ten') }
    assert_raises(TypeError) { K.hkdf(:sha256, 'ikm', '10') }
    assert_raises(TypeError) { K::KeyManager.open(temp_dir).get_version('k', '1') }
    assert_equal 16, K.hkdf(:sha256, 'ikm', 16.0.to_i).bytesize
  end
end
