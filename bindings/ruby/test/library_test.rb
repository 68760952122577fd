# frozen_string_literal: true

require_relative 'test_helper'

class LibraryTest < Minitest::Test
  include TestHelpers

  def test_version
    assert_match(/\A\d+\.\d+\.\d+/, K.version)
    assert_equal K::BINDING_VERSION.split('.').first, K.version.split('.').first
  end

  def test_constants
    assert_equal [1, 2, 3], [K::SHA256, K::SHA384, K::SHA512]
    assert_equal [64, 65_536, 128, 5], [K::MAX_DIGEST_LEN, K::MAX_KEY_LEN, K::MAX_KEY_ID_LEN, K::TAG_OVERHEAD]
  end

  def test_algorithms
    { 'sha256' => 1, 'SHA-256' => 1, :sha256 => 1, 'Sha_384' => 2, :SHA512 => 3, 'sha-512' => 3 }.each do |name, want|
      assert_equal want, K.alg(name), name.inspect
    end
    assert_equal 2, K.alg(2)
    assert_equal 99, K.alg(99) # numbers pass through; the call using it fails
    ['', 'md5', 'sha1', 'sha256 ', "sha\0256"].each do |bad|
      assert_raises(K::UnsupportedAlgorithmError, bad.inspect) { K.alg(bad) }
    end
    assert_raises(K::UnsupportedAlgorithmError) { K.alg(-1) }
    assert_raises(K::UnsupportedAlgorithmError) { K.alg(1 << 32) }
    assert_raises(TypeError) { K.alg(1.5) }
    assert_equal [32, 48, 64, 0, 0], [1, 2, 3, 0, 99].map { |a| K.digest_length(a) }
    assert_equal 48, K.digest_length(:sha384)
  end

  def test_status_names
    assert_equal 'CODOMYRMEX_OK', K.status_name(0)
    assert_equal 'CODOMYRMEX_ERR_NOT_FOUND', K.status_name(K::Status::NOT_FOUND)
    assert_equal 'CODOMYRMEX_ERR_INTERNAL', K.status_name(12)
    [13, 1 << 31, -1, 1 << 40, nil].each do |bad|
      assert_equal 'CODOMYRMEX_UNKNOWN_STATUS', K.status_name(bad)
    end
  end

  def test_random_bytes
    a = K.random_bytes(32)
    assert_equal 32, a.bytesize
    assert_equal Encoding::BINARY, a.encoding
    refute_equal a, K.random_bytes(32)
    assert_equal '', K.random_bytes(0)
    assert_raises(K::InvalidArgumentError) { K.random_bytes(-1) }
  end

  def test_secure_zero
    secret = K.random_bytes(64)
    alias_of_secret = secret
    assert_same secret, K.secure_zero(secret)
    assert_equal "\0" * 64, alias_of_secret
    # A String sharing its buffer with another one is made independent
    # first, so the other one is left alone.
    original = ('s' * 100).b
    copy = original.dup
    K.secure_zero(copy)
    assert_equal 's' * 100, original
    assert_equal "\0" * 100, copy
    assert_nil K.secure_zero(nil)
    assert_equal '', K.secure_zero(+'')
    assert_raises(FrozenError) { K.secure_zero('frozen'.b.freeze) }
  end
end
