# frozen_string_literal: true

require_relative 'test_helper'

class KeyManagerTest < Minitest::Test
  include TestHelpers

  MSG = 'a message'

  def test_round_trip
    km, dir = open_temp
    assert_equal File.realpath(dir), File.realpath(km.dir)
    assert_equal 0o700, File.stat(dir).mode & 0o777

    k1 = 'first key, 32 bytes long.......'
    assert_nil km.store('alpha', k1)
    got = km.get('alpha')
    assert_equal k1, got
    assert_equal Encoding::BINARY, got.encoding
    assert_equal 0o600, File.stat(File.join(dir, 'alpha.key')).mode & 0o777
    assert km.exists?('alpha')
    assert km.exists?(:alpha)
    refute km.exists?('nothing')

    km.create('beta', 'beta key')
    assert_raises(K::AlreadyExistsError) { km.create('beta', 'other') }
    km.generate('gamma', 48)
    assert_raises(K::AlreadyExistsError) { km.generate('gamma', 48) }
    assert_equal 48, km.get('gamma').bytesize
    assert_equal %w[alpha beta gamma], km.list

    ALGS.each do |alg|
      mac = km.hmac('alpha', alg, MSG)
      assert_equal K.hmac(alg, k1, MSG), mac
      assert km.hmac_verify('alpha', alg, MSG, mac)
      assert_raises(K::VerifyFailedError) { km.hmac_verify('alpha', alg, 'another message', mac) }
      assert_raises(K::VerifyFailedError) { km.hmac_verify('alpha', alg, MSG, mac[0..-2]) }
      okm = km.derive('alpha', alg, 100, salt: 'salt', info: 'info')
      assert_equal K.hkdf(alg, k1, 100, salt: 'salt', info: 'info'), okm
    end

    k2 = 'second key'
    assert_equal k1, km.rotate('alpha', k2)
    assert_equal k2, km.get('alpha')
    assert_nil km.rotate('fresh', 'fresh key')
    assert_equal 1, km.current_version('fresh')

    assert_nil km.delete('beta')
    assert_raises(K::NotFoundError) { km.delete('beta') }
    assert_raises(K::NotFoundError) { km.get('beta') }
    refute km.exists?('beta')
    assert_equal %w[alpha fresh gamma], km.list

    km.close
    K::KeyManager.open(dir) { |again| assert_equal k2, again.get('alpha') }
  end

  def test_versions_and_tagged_macs
    km, dir = open_temp
    keys = ['version one', 'version two', 'version three']
    km.store('svc', keys[0])
    assert_equal 1, km.current_version('svc')
    tag1 = km.hmac_tagged('svc', :sha256, MSG)
    assert_equal K::TAG_OVERHEAD + 32, tag1.bytesize
    assert_equal Encoding::BINARY, tag1.encoding
    format, version = tag1.unpack('CN')
    assert_equal [1, 1], [format, version]
    assert_equal K.hmac(:sha256, keys[0], MSG), tag1[5..]

    km.store('svc', keys[1]) # over an existing id: a new version
    km.rotate('svc', keys[2])
    assert_equal 3, km.current_version('svc')
    assert_equal [1, 2, 3], km.list_versions('svc')
    keys.each_with_index do |key, i|
      v = i + 1
      assert_equal key, km.get_version('svc', v)
      assert_equal K.hmac(:sha384, key, MSG), km.hmac_version('svc', v, :sha384, MSG)
      assert_equal K.hkdf(:sha512, key, 64, info: 'ctx'), km.derive_version('svc', v, :sha512, 64, info: 'ctx')
    end
    assert_equal keys[2], km.get_version('svc', 0)
    assert_raises(K::NotFoundError) { km.get_version('svc', 4) }
    assert_raises(K::NotFoundError) { km.hmac_version('svc', 9, :sha256, MSG) }
    assert_raises(K::NotFoundError) { km.derive_version('svc', 9, :sha256, 16) }
    assert_equal ['svc'], km.list
    assert_equal 1, Dir.glob(File.join(dir, '*.key')).size

    # A tagged MAC of version 1 verifies across rotations...
    assert km.hmac_verify_tagged('svc', :sha256, MSG, tag1)
    tag3 = km.hmac_tagged('svc', :sha256, MSG)
    assert_equal 3, tag3.unpack1('@1N')
    assert km.hmac_verify_tagged('svc', :sha256, MSG, tag3)
    assert_raises(K::VerifyFailedError) { km.hmac_verify_tagged('svc', :sha256, 'other data', tag1) }
    assert_raises(K::VerifyFailedError) { km.hmac_verify_tagged('svc', :sha384, MSG, tag1) }
    {
      'format byte' => tag3.dup.tap { |t| t.setbyte(0, 2) },
      'version 0' => tag3.dup.tap { |t| t[1, 4] = [0].pack('N') },
      'version 7' => tag3.dup.tap { |t| t[1, 4] = [7].pack('N') },
      'mac bit' => tag3.dup.tap { |t| t.setbyte(-1, t.getbyte(-1) ^ 1) },
      'short' => tag3[0..-2],
      'long' => "#{tag3}\0".b,
      'header only' => tag3[0, K::TAG_OVERHEAD],
      'empty' => ''
    }.each do |what, tag|
      assert_raises(K::VerifyFailedError, what) { km.hmac_verify_tagged('svc', :sha256, MSG, tag) }
    end

    # ...until its version is pruned.
    assert_raises(K::InvalidArgumentError) { km.prune('svc', 0) }
    assert_nil km.prune('svc', 2)
    assert_equal [2, 3], km.list_versions('svc')
    assert_raises(K::VerifyFailedError) { km.hmac_verify_tagged('svc', :sha256, MSG, tag1) }
    km.prune('svc', 1)
    assert_equal [3], km.list_versions('svc')
    assert_raises(K::NotFoundError) { km.get_version('svc', 2) }
    assert km.hmac_verify_tagged('svc', :sha256, MSG, tag3)
    assert_no_file_holds(dir, keys[0], keys[1])

    km.delete('svc')
    assert_no_file_holds(dir, keys[2])
    assert_raises(K::NotFoundError) { km.hmac_verify_tagged('svc', :sha256, MSG, tag3) }
    assert_raises(K::NotFoundError) { km.list_versions('svc') }
    assert_raises(K::NotFoundError) { km.current_version('svc') }
    km.store('svc', 'reborn')
    assert_equal 1, km.current_version('svc')
  end

  def assert_no_file_holds(dir, *secrets)
    Dir.glob(File.join(dir, '**', '*'), File::FNM_DOTMATCH).each do |path|
      next unless File.file?(path) && !File.symlink?(path)

      data = File.binread(path)
      secrets.each { |s| refute data.include?(s.b), "#{path} still holds #{s.inspect}" }
    end
  end

  # Outputs bigger than the first buffer tried: the size query and the retry
  # are invisible.
  def test_large_outputs
    km, = open_temp
    big = K.random_bytes(K::MAX_KEY_LEN)
    km.store('big', big)
    assert_equal big, km.get('big')
    assert_equal big, km.rotate('big', 'small')
    assert_equal big, km.get_version('big', 1)
    # The first, too small, attempt of rotate changed nothing: one rotation, two versions.
    assert_equal [1, 2], km.list_versions('big')
    assert_raises(K::InvalidArgumentError) { km.store('big', "#{big}\0".b) }
    assert_raises(K::InvalidArgumentError) { km.store('empty', '') }
    assert_raises(K::InvalidArgumentError) { km.store('empty', nil) }
    assert_raises(K::InvalidArgumentError) { km.generate('g', 0) }
    assert_raises(K::InvalidArgumentError) { km.generate('g', K::MAX_KEY_LEN + 1) }
    assert_raises(K::InvalidArgumentError) { km.generate('g', -1) }
    assert_raises(K::InvalidArgumentError) { km.generate('g', 1 << 64) }
    assert_raises(K::InvalidArgumentError) { km.get_version('big', -1) }
    assert_raises(K::InvalidArgumentError) { km.get_version('big', 1 << 32) }

    20.times { |i| km.store('many', "key #{i}") }
    versions = km.list_versions('many')
    assert_equal((1..20).to_a, versions)

    want = (0...60).map { |i| format('%03d-%s', i, 'x' * 100) }
    want.each { |id| km.store(id, 'k') }
    assert_equal (want + %w[big many]).sort, km.list
  end

  def test_default_directory
    base = Dir.mktmpdir
    saved = ENV.to_h.slice('TMPDIR', 'TEMP', 'TMP')
    ENV['TMPDIR'] = base
    K::KeyManager.open do |km|
      assert_equal File.join(base, 'codomyrmex_keys'), km.dir
    end
  ensure
    %w[TMPDIR TEMP TMP].each { |k| ENV[k] = saved[k] }
    FileUtils.rm_rf(base)
  end

  def test_pathname_directory
    require 'pathname'
    dir = Pathname.new(temp_dir)
    K::KeyManager.open(dir) { |km| assert_equal dir.to_s, km.dir }
  end

  def test_close
    km, = open_temp
    km.store('k', 'v')
    refute km.closed?
    assert_nil km.close
    assert_nil km.close
    assert km.closed?
    err = assert_raises(K::NullPointerError) { km.get('k') }
    assert_match(/closed/, err.message)
    assert_raises(K::NullPointerError) { km.list }
    assert_match(/closed/, km.inspect)

    # The block form returns the block's value and closes, even on error.
    dir = temp_dir
    assert_equal 42, K::KeyManager.open(dir) { 42 }
    held = nil
    assert_raises(RuntimeError) do
      K::KeyManager.open(dir) do |m|
        held = m
        raise 'boom'
      end
    end
    assert held.closed?
  end

  # The library keeps the last error message per thread: every exception
  # must carry the message of its own call.
  def test_concurrent_use_and_messages
    km, = open_temp
    km.generate('shared', 32)
    mac = km.hmac('shared', :sha256, 'm')
    threads = (0...8).map do |t|
      Thread.new do
        100.times do |i|
          id = "missing-#{t}-#{i}"
          err = assert_raises(K::NotFoundError) { km.get(id) }
          assert_includes err.message, id
          assert km.hmac_verify('shared', :sha256, 'm', mac)
        end
      end
    end
    threads.each(&:join)
  end

  def test_close_waits_for_calls_in_progress
    km, = open_temp
    km.generate('k', 32)
    start = Queue.new
    threads = (0...6).map do
      Thread.new do
        start.pop
        200.times do
          km.hmac('k', :sha256, 'x')
        rescue K::NullPointerError
          break
        end
      end
    end
    6.times { start << true }
    km.close
    threads.each(&:join)
    assert km.closed?
  end

  # Handles and streams nobody closes are released by the garbage collector
  # (managers with a warning, counted here by test_helper.rb).
  def test_garbage_collected_handles
    _, dir = open_temp
    before = LeakWarnings.count
    200.times do
      K::KeyManager.new(dir).store('k', 'v')
      K::Hmac.new(:sha256, 'k') << 'x'
    end
    GC.start
    GC.start
    assert_equal 'v', K::KeyManager.open(dir) { |km| km.get('k') }
    assert_operator LeakWarnings.count, :>, before, 'no unclosed-manager warning'
  end

  def test_concurrent_rotations_lose_nothing
    km, = open_temp
    km.store('r', 'initial')
    n = 16
    olds = (0...n).map { |i| Thread.new { km.rotate('r', format('key-%02d', i)) } }.map(&:value)
    seen = olds + [km.get('r')]
    assert_equal n + 1, seen.uniq.size
    assert_includes seen, 'initial'
    assert_equal n + 1, km.list_versions('r').size
  end
end
