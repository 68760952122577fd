# frozen_string_literal: true

require_relative 'test_helper'
require 'open3'
require 'rbconfig'

# A KeyManager or Keyring dropped without close is freed by the collector,
# with a warning (Ruby runs the remaining finalizers at exit at the latest);
# a closed one never warns, and neither does one closed by the block form.
class LifecycleTest < Minitest::Test
  include TestHelpers

  def run_ruby(code, dir)
    lib_dir = File.expand_path('../lib', __dir__)
    Open3.capture2e(RbConfig.ruby, '-I', lib_dir, '-r', 'codomyrmex_keys', '-e', code, dir)
  end

  def test_an_unclosed_manager_warns
    dir = temp_dir
    out, status = run_ruby(<<~RUBY, dir)
      def leak(dir) = CodomyrmexKeys::KeyManager.open(dir).store('x', 'key')
      leak(ARGV[0])
      CodomyrmexKeys::KeyManager.open(ARGV[0]).close
      CodomyrmexKeys::KeyManager.open(ARGV[0]) { |km| km.list }
      3.times { GC.start }
    RUBY
    assert status.success?, out
    assert_equal 1, out.scan('was garbage-collected without close').size, out
    assert_includes out, "codomyrmex_keys: a KeyManager for '#{dir}' was garbage-collected without close"
  end

  def test_an_unclosed_keyring_warns
    dir = temp_dir
    out, status = run_ruby(<<~RUBY, dir)
      CodomyrmexKeys::KeyManager.open(ARGV[0]) do |km|
        km.store('leaky', 'key')
        def leak(km) = km.load('leaky', :sha256).hmac('m')
        leak(km)
        km.load('leaky', :sha256).close
        km.load('leaky', :sha256) { |ring| ring.hmac('m') }
      end
      3.times { GC.start }
    RUBY
    assert status.success?, out
    assert_equal 1, out.scan('was garbage-collected without close').size, out
    assert_includes out, "codomyrmex_keys: a Keyring for key 'leaky' was garbage-collected without close"
  end

  def test_warnings_off_with_w0
    dir = temp_dir
    lib_dir = File.expand_path('../lib', __dir__)
    out, status = Open3.capture2e(RbConfig.ruby, '-W0', '-I', lib_dir, '-r', 'codomyrmex_keys', '-e',
                                  'CodomyrmexKeys::KeyManager.open(ARGV[0])', dir)
    assert status.success?, out
    refute_includes out, 'without close'
  end
end
