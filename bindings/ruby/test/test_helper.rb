# frozen_string_literal: true

$LOAD_PATH.unshift File.expand_path('../lib', __dir__)
require 'codomyrmex_keys'
require 'minitest/autorun'
require 'openssl'
require 'tmpdir'
require 'fileutils'

# Tests that drop managers on purpose would fill the output with the
# unclosed-manager warning: inside this test process those warnings are
# counted instead of printed (test/lifecycle_test.rb checks the real output
# in child processes).
module LeakWarnings
  TEXT = 'was garbage-collected without close'
  @count = 0
  class << self
    attr_accessor :count
  end

  def warn(message, *args, **kwargs)
    return super unless message.include?(TEXT)

    LeakWarnings.count += 1
    nil
  end
end
Warning.singleton_class.prepend(LeakWarnings)

module TestHelpers
  K = CodomyrmexKeys
  ALGS = [K::SHA256, K::SHA384, K::SHA512].freeze
  DIGESTS = { K::SHA256 => 'SHA256', K::SHA384 => 'SHA384', K::SHA512 => 'SHA512' }.freeze

  def unhex(hex)
    [hex].pack('H*')
  end

  def hex(bytes)
    bytes.unpack1('H*')
  end

  def openssl_hmac(alg, key, data)
    OpenSSL::HMAC.digest(DIGESTS.fetch(alg), key, data)
  end

  # A fresh key directory, removed after the test.
  def temp_dir
    base = Dir.mktmpdir('codomyrmex-keys-rb')
    (@temp_dirs ||= []) << base
    File.join(base, 'keys')
  end

  def open_temp
    dir = temp_dir
    km = K::KeyManager.open(dir)
    (@managers ||= []) << km
    [km, dir]
  end

  def teardown
    (@managers || []).each(&:close)
    (@temp_dirs || []).each { |d| FileUtils.rm_rf(d) }
    super
  end
end
