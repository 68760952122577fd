# frozen_string_literal: true

require_relative 'test_helper'
require 'socket'

# The etcd open options (timeout_ms, tls, auth) and an etcd source (§12).
# The argument rules are tested everywhere; the source itself on the real
# 3-member cluster that bindings/test.sh starts (TLS with a client
# certificate, authentication) and names in the CODOMYRMEX_TEST_ETCD_*
# variables. Without them those tests are skipped.
class EtcdTest < Minitest::Test
  include TestHelpers

  ENV_PREFIX = 'CODOMYRMEX_TEST_ETCD_'
  ENDPOINTS = ENV.fetch("#{ENV_PREFIX}ENDPOINTS", '')
  NO_CLUSTER = "no etcd cluster: #{ENV_PREFIX}ENDPOINTS is not set (bindings/test.sh starts one and sets it)"

  def test_a_timeout_of_zero_is_invalid
    dir = temp_dir
    assert_error(K::InvalidArgumentError, K::Status::INVALID_ARGUMENT, 'timeout') do
      K::KeyManager.open_with(dir, timeout_ms: 0)
    end
    assert_error(K::InvalidArgumentError, 2, 'timeout_ms') { K::KeyManager.open_with(dir, timeout_ms: -1) }
    assert_error(K::InvalidArgumentError, 2, 'timeout_ms') { K::KeyManager.open_with(dir, timeout_ms: 2**32) }
    refute File.exist?(dir)
  end

  def test_a_client_certificate_needs_its_key
    dir = temp_dir
    [{ cert_file: 'client.crt' }, { ca_file: 'ca.crt', key_file: 'client.key' }].each do |tls|
      assert_error(K::InvalidArgumentError, 2, 'cert_file, key_file') { K::KeyManager.open_with(dir, tls: tls) }
    end
    refute File.exist?(dir)
  end

  def test_an_empty_user_is_invalid
    dir = temp_dir
    assert_error(K::InvalidArgumentError, 2, 'user') do
      K::KeyManager.open_with(dir, auth: { user: '', password_file: 'password' })
    end
    refute File.exist?(dir)
  end

  def test_values_are_checked_here
    dir = temp_dir
    assert_raises(TypeError) { K::KeyManager.open_with(dir, tls: 'ca.crt') }
    err = assert_raises(ArgumentError) { K::KeyManager.open_with(dir, tls: { ca: 'ca.crt' }) }
    assert_match(/unknown key :ca of tls/, err.message)
    err = assert_raises(ArgumentError) { K::KeyManager.open_with(dir, auth: { user: 'u' }) }
    assert_match(/missing key :password_file of auth/, err.message)
    assert_raises(TypeError) { K::KeyManager.open_with(dir, timeout_ms: '5') }
    assert_error(K::InvalidArgumentError, 2, 'tls[:ca_file]') { K::KeyManager.open_with(dir, tls: { ca_file: "a\0b" }) }
    assert_error(K::InvalidArgumentError, 2, 'tls[:key_file]') do
      K::KeyManager.open_with(dir, tls: { cert_file: 'c', key_file: "k\0" })
    end
    assert_error(K::InvalidArgumentError, 2, 'auth[:user]') do
      K::KeyManager.open_with(dir, auth: { user: "u\0", password_file: 'p' })
    end
    assert_error(K::InvalidArgumentError, 2, 'auth[:password_file]') do
      K::KeyManager.open_with(dir, auth: { user: 'u', password_file: "p\0" })
    end
    refute File.exist?(dir)
  end

  def test_a_private_directory_ignores_them
    dir = temp_dir
    auth = { user: 'someone', password_file: File.join(File.dirname(dir), 'no-such-file') }
    K::KeyManager.open_with(dir, timeout_ms: 1, tls: {}, auth: auth) do |km|
      km.store('k', 'key')
      assert_equal 'key', km.get('k')
    end
  end

  def test_a_member_that_never_answers_is_an_io_error_within_the_timeout
    # A listening socket nobody accepts from: the kernel completes the
    # connection, and no answer ever comes.
    silent = TCPServer.new('127.0.0.1', 0)
    endpoint = "127.0.0.1:#{silent.addr[1]}"
    km = closes(K::KeyManager.open_with("etcd://#{endpoint}/bindings-ruby", timeout_ms: 600))
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    err = assert_error(K::IOError, K::Status::IO, endpoint) { km.list }
    took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    assert_includes err.detail, '600 ms'
    assert_operator took, :>=, 0.3
    assert_operator took, :<, 2.6
  ensure
    silent&.close
  end

  # The cluster's TLS files and credentials, and a prefix no other test uses.
  def cluster
    skip NO_CLUSTER if ENDPOINTS.empty?
    var = lambda do |name|
      ENV.fetch("#{ENV_PREFIX}#{name}", '').tap do |value|
        flunk "#{ENV_PREFIX}ENDPOINTS is set but #{ENV_PREFIX}#{name} is not" if value.empty?
      end
    end
    {
      tls: { ca_file: var.call('CA_FILE'), cert_file: var.call('CERT_FILE'), key_file: var.call('KEY_FILE') },
      auth: { user: var.call('USER'), password_file: var.call('PASSWORD_FILE') },
      location: "etcd://#{ENDPOINTS}/bindings-ruby-#{hex(K.random_bytes(8))}"
    }
  end

  def test_keys_on_a_cluster_with_tls_and_authentication
    c = cluster
    K::KeyManager.open_with(c[:location], timeout_ms: 5000, tls: c[:tls], auth: c[:auth]) do |km|
      assert_equal c[:location], km.dir
      km.generate('api', 32)
      first = km.get('api')
      km.store('db', 'database key')
      assert_equal first, km.rotate('api', 'rotated over tls')
      assert_equal 32, first.bytesize
      assert_equal 2, km.current_version('api')
      message = 'a message MACed on etcd'
      mac = km.hmac('api', :sha384, message)
      assert_equal openssl_hmac(K::SHA384, 'rotated over tls', message), mac
      km.hmac_verify('api', :sha384, message, mac)
      assert_error(K::VerifyFailedError, K::Status::VERIFY_FAILED) do
        km.hmac_verify('api', :sha384, 'another message', mac)
      end
      km.hmac_verify_tagged('api', :sha256, message, km.hmac_tagged('api', :sha256, message))
      assert_equal %w[api db], km.list
      km.delete('db')
      assert_equal %w[api], km.list
      refute km.exists?('db')
      assert_error(K::NotFoundError, K::Status::NOT_FOUND, 'db') { km.get('db') }
    end
    # Another manager (another host) sees the same keys.
    other = K::KeyManager.open_with(c[:location], tls: c[:tls], auth: c[:auth]) { |km| km.get('api') }
    assert_equal 'rotated over tls', other
  end

  def test_without_auth_the_cluster_refuses
    c = cluster
    km = closes(K::KeyManager.open_with(c[:location], timeout_ms: 5000, tls: c[:tls])) # opening sends nothing
    assert_error(K::InvalidArgumentError, K::Status::INVALID_ARGUMENT, 'authentication') { km.list }
  end
end
