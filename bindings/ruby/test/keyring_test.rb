# frozen_string_literal: true

require_relative 'test_helper'

# Keyrings: every version of a key in memory (§10).
class KeyringTest < Minitest::Test
  include TestHelpers

  def setup
    @km, @dir = open_temp
    @km.store('api', 'api key one')
  end

  def load(alg = :sha256, refresh_ms: 0)
    closes(@km.load('api', alg, refresh_ms: refresh_ms))
  end

  def test_same_bytes_as_the_key_manager
    @km.rotate('api', 'api key two')
    [K::SHA256, K::SHA384, K::SHA512, :sha384, 'SHA-512'].each do |alg|
      ring = load(alg)
      assert_equal K.alg(alg), ring.alg
      assert_equal 'api', ring.key_id
      ['', 'message', 'x' * 1000, "\x00\xff".b].each do |data|
        mac = ring.hmac(data)
        assert_equal @km.hmac('api', alg, data), mac
        assert_equal openssl_hmac(K.alg(alg), 'api key two', data), mac
        assert_equal Encoding::BINARY, mac.encoding
        tag = ring.hmac_tagged(data)
        assert_equal @km.hmac_tagged('api', alg, data), tag
        assert_equal [1, 2].pack('CN'), tag[0, 5]
        assert ring.hmac_verify(data, mac)
        assert ring.hmac_verify_tagged(data, tag)
        assert @km.hmac_verify_tagged('api', alg, data, tag)
      end
    end
  end

  def test_verify_rejects
    ring = load
    mac = ring.hmac('data')
    tag = ring.hmac_tagged('data')
    flipped = mac.dup.tap { |m| m.setbyte(31, m.getbyte(31) ^ 1) }
    [
      -> { ring.hmac_verify('datA', mac) }, -> { ring.hmac_verify('data', flipped) },
      -> { ring.hmac_verify('data', mac[0, 16]) }, -> { ring.hmac_verify('data', '') },
      -> { ring.hmac_verify_tagged('datA', tag) }, -> { ring.hmac_verify_tagged('data', tag[0..-2]) },
      -> { ring.hmac_verify_tagged('data', "\x02".b + tag[1..]) },
      -> { ring.hmac_verify_tagged('data', tagged(9, 'api key one', 'data')) }, -> { ring.hmac_verify_tagged('data', mac) }
    ].each { |bad| assert_error(K::VerifyFailedError, K::Status::VERIFY_FAILED, 'MAC', &bad) }
    @km.rotate('api', 'api key two')
    ring.refresh
    assert ring.hmac_verify_tagged('data', tag) # version 1 is still held
    assert_error(K::VerifyFailedError, 8, 'MAC') { ring.hmac_verify('data', mac) }
  end

  def test_refresh_and_current_version
    ring = load
    assert_equal 1, ring.current_version
    refute ring.refresh
    @km.rotate('api', 'api key two')
    assert_equal 1, ring.current_version # refresh_ms 0: only refresh reloads
    assert_equal openssl_hmac(K::SHA256, 'api key one', 'm'), ring.hmac('m')
    assert ring.refresh
    refute ring.refresh
    assert_equal 2, ring.current_version
    staged = @km.stage('api', 'api key three')
    assert ring.refresh
    assert_equal 2, ring.current_version
    assert ring.hmac_verify_tagged('m', tagged(staged, 'api key three', 'm'))
    @km.promote('api', staged)
    assert ring.refresh
    assert_equal tagged(3, 'api key three', 'm'), ring.hmac_tagged('m')
    @km.prune('api', 1)
    assert ring.refresh
    assert_error(K::VerifyFailedError, 8, 'MAC') { ring.hmac_verify_tagged('m', tagged(1, 'api key one', 'm')) }
  end

  def test_refresh_ms_sees_a_rotation_without_refresh
    ring = load(refresh_ms: 20)
    assert_equal 1, ring.current_version
    @km.rotate('api', 'api key two')
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
    until ring.current_version == 2
      assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC), :<, deadline, 'not seen within 5 s'
      sleep 0.005
    end
    assert_equal openssl_hmac(K::SHA256, 'api key two', 'm'), ring.hmac('m')
  end

  def test_a_deleted_key_is_not_found_until_it_exists_again
    ring = load
    tag = ring.hmac_tagged('m')
    @km.delete('api')
    assert_error(K::NotFoundError, K::Status::NOT_FOUND, "'api'") { ring.refresh }
    [-> { ring.current_version }, -> { ring.hmac('m') }, -> { ring.hmac_tagged('m') },
     -> { ring.hmac_verify('m', "\0" * 32) }, -> { ring.hmac_verify_tagged('m', tag) }].each do |call|
      # The library's message says the keyring's key was deleted (it does not repeat the id).
      assert_error(K::NotFoundError, K::Status::NOT_FOUND, 'deleted', &call)
    end
    @km.store('api', 'api key again')
    assert ring.refresh
    assert_equal 1, ring.current_version
    assert_equal openssl_hmac(K::SHA256, 'api key again', 'm'), ring.hmac('m')
  end

  def test_load_errors
    assert_error(K::NotFoundError, 6, 'absent') { @km.load('absent', :sha256) }
    assert_error(K::InvalidKeyIdError, 3, 'a/b') { @km.load('a/b', :sha256) }
    assert_error(K::UnsupportedAlgorithmError, 4, '99') { @km.load('api', 99) }
    assert_error(K::InvalidArgumentError, 2, 'refresh_ms') { @km.load('api', :sha256, refresh_ms: -1) }
    assert_raises(NoMethodError) { K::Keyring.new(nil, 'api', 1) }
  end

  def test_usable_after_its_key_manager_is_closed
    ring = K::KeyManager.open(@dir) { |km| closes(km.load('api', :sha512, refresh_ms: 10)) }
    assert_equal openssl_hmac(K::SHA512, 'api key one', 'm'), ring.hmac('m')
    @km.rotate('api', 'api key two')
    assert ring.refresh
    assert_equal 2, ring.current_version
    assert ring.hmac_verify_tagged('m', @km.hmac_tagged('api', :sha512, 'm'))
  end

  def test_block_form_and_close
    value = @km.load('api', :sha256) do |ring|
      @ring = ring
      ring.hmac('m')
    end
    assert_equal openssl_hmac(K::SHA256, 'api key one', 'm'), value
    assert @ring.closed?
    ring = @km.load(:api, K::SHA384)
    assert_equal '#<CodomyrmexKeys::Keyring "api" sha384>', ring.inspect
    ring.close
    ring.close
    assert ring.closed?
    assert_equal '#<CodomyrmexKeys::Keyring "api" sha384 closed>', ring.inspect
    [-> { ring.refresh }, -> { ring.current_version }, -> { ring.hmac('m') }, -> { ring.hmac_verify_tagged('m', 't') }].each do |call|
      err = assert_error(K::NullPointerError, K::Status::NULL_POINTER, 'keyring is closed', &call)
      assert_nil err.errno
    end
  end

  def test_threads_share_a_keyring_while_it_reloads
    versions = { 1 => 'api key one' }
    (2..11).each { |v| versions[v] = "api key #{v}" }
    ring = load(:sha384, refresh_ms: 1)
    failures = Queue.new
    signers = Array.new(6) do |n|
      Thread.new do
        300.times do |i|
          data = "#{n}:#{i}"
          tag = ring.hmac_tagged(data)
          version = tag[1, 4].unpack1('N')
          failures << "thread #{n}: wrong tag for version #{version}" unless tag[5..] == openssl_hmac(K::SHA384, versions.fetch(version), data)
          ring.hmac_verify_tagged(data, tag)
          mac = ring.hmac(data)
          failures << "thread #{n}: MAC under no known version" unless versions.values.any? { |k| openssl_hmac(K::SHA384, k, data) == mac }
        end
      rescue StandardError => e
        failures << "thread #{n}: #{e.class}: #{e.message}"
      end
    end
    rotator = Thread.new do
      (2..11).each do |v|
        @km.rotate('api', versions[v])
        ring.refresh
        sleep 0.002
      end
    rescue StandardError => e
      failures << "rotator: #{e.class}: #{e.message}"
    end
    (signers + [rotator]).each(&:join)
    assert_equal [], Array.new(failures.size) { failures.pop }
    ring.refresh
    assert_equal 11, ring.current_version
  end
end
