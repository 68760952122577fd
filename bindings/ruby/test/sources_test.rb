# frozen_string_literal: true

require_relative 'test_helper'

# KeyManager.open_with: locations, open options and mounted sources (§9).
class SourcesTest < Minitest::Test
  include TestHelpers

  OLD = 'api key, version 1'.b
  NEW = 'api key, version 2'.b

  def test_a_path_and_no_options
    dir = temp_dir
    K::KeyManager.open_with(dir) do |km|
      km.store('k', 'key')
      assert_equal File.realpath(dir), km.dir
    end
    assert_equal 'key', K::KeyManager.open_with(Pathname(dir), read_only: nil) { |km| km.get('k') }
  end

  def test_unknown_schemes_are_invalid
    root = File.dirname(temp_dir)
    Dir.chdir(root) do
      %w[consul://127.0.0.1:8500 vault:secret/app a:b].each do |location|
        assert_error(K::InvalidArgumentError, K::Status::INVALID_ARGUMENT, location.split(':').first) do
          K::KeyManager.open_with(location)
        end
      end
      assert_empty Dir.children(root)
      K::KeyManager.open_with(Pathname('a:b'), &:list) # a Pathname is always a directory
      assert File.directory?(File.join(root, 'a:b'))
    end
  end

  def test_read_only_writes_fail_and_touch_nothing
    dir = temp_dir
    K::KeyManager.open(dir) do |km|
      km.store('k', 'version one')
      km.rotate('k', 'version two')
      km.stage('k', 'staged three')
    end
    before = tree(dir)
    km = closes(K::KeyManager.open_with(dir, read_only: true))
    {
      store: -> { km.store('k', 'x') }, create: -> { km.create('new', 'x') }, generate: -> { km.generate('new', 32) },
      rotate: -> { km.rotate('k', 'x') }, delete: -> { km.delete('k') }, prune: -> { km.prune('k', 1) },
      stage: -> { km.stage('k', 'x') }, stage_generate: -> { km.stage_generate('k') }, promote: -> { km.promote('k', 3) }
    }.each do |name, write|
      err = assert_error(K::InvalidArgumentError, K::Status::INVALID_ARGUMENT, 'read-only key source', &write)
      assert_match(/'(k|new)'/, err.detail, name)
    end
    assert_error(K::InvalidArgumentError, 2, 'read-only key source') { km.seal_all }
    assert_equal 'version two', km.get('k')
    assert_equal [1, 2, 3], km.list_versions('k')
    assert_equal before, tree(dir)
  end

  def test_options_are_checked_here_and_by_the_library
    dir = temp_dir
    err = assert_raises(ArgumentError) { K::KeyManager.open_with(dir, readonly: true) }
    assert_match(/unknown open option :readonly/, err.message)
    assert_raises(TypeError) { K::KeyManager.open_with(dir, read_only: 1) }
    assert_error(K::InvalidArgumentError, 2, 'lock_timeout_ms') { K::KeyManager.open_with(dir, lock_timeout_ms: -1) }
    assert_error(K::InvalidArgumentError, 2, 'trusted_uid') { K::KeyManager.open_with(dir, trusted_uid: 2**32) }
    assert_error(K::InvalidArgumentError, 2, 'kek_file') { K::KeyManager.open_with(dir, kek_file: "a\0b") }
    assert_error(K::InvalidArgumentError, 2, 'kek_credential') { K::KeyManager.open_with(dir, kek_credential: "a\0b") }
    err = assert_error(K::InvalidArgumentError, 2, '../kek') { K::KeyManager.open_with(dir, kek_credential: '../kek') }
    assert_match(/credential/, err.detail)
    refute File.exist?(dir)
    K::KeyManager.open_with(dir, trusted_uid: 65_534, lock_timeout_ms: 0) { |km| km.store('k', 'key') }
  end

  def mounted
    root = File.dirname(temp_dir)
    mount = File.join(root, 'secret')
    data_dir = secret_volume(mount, { 'api' => [OLD, NEW], 'db' => ['database key'] })
    [root, mount, data_dir]
  end

  def open_mounted(mount, **options)
    closes(K::KeyManager.open_with("mounted:#{mount}", **options))
  end

  def test_mounted_kubernetes_secret_volume
    _, mount = mounted
    km = open_mounted(mount)
    assert_equal mount, km.dir
    assert_equal %w[api db], km.list
    assert_equal NEW, km.get('api')
    assert_equal 2, km.current_version('api')
    assert_equal [1, 2], km.list_versions('api')
    assert_equal OLD, km.get_version('api', 1)
    assert_equal openssl_hmac(K::SHA512, NEW, 'm'), km.hmac('api', :sha512, 'm')
    assert km.hmac_verify_tagged('api', :sha256, 'message', tagged(1, OLD, 'message')) # made before the rollout
    assert_equal tagged(2, NEW, 'message'), km.hmac_tagged('api', :sha256, 'message')
    assert_error(K::VerifyFailedError, 8, 'MAC') { km.hmac_verify_tagged('api', :sha256, 'message', tagged(1, NEW, 'message')) }
  end

  def test_mounted_writes_are_refused
    _, mount = mounted
    km = open_mounted(mount)
    before = tree(mount)
    [-> { km.store('api', 'x') }, -> { km.create('new', 'x') }, -> { km.rotate('api', 'x') }, -> { km.delete('db') },
     -> { km.prune('api', 1) }, -> { km.stage('api', 'x') }, -> { km.promote('api', 2) }].each do |write|
      assert_error(K::InvalidArgumentError, K::Status::INVALID_ARGUMENT, 'read-only key source', &write)
    end
    assert_equal before, tree(mount)
  end

  def test_mounted_update_is_seen_by_the_next_call
    _, mount = mounted
    km = open_mounted(mount)
    km.load('api', :sha256) do |ring|
      secret_volume(mount, { 'api' => [OLD, NEW, 'api key, version 3'] }, '2024_06_01_00_00_00.0')
      assert_equal 'api key, version 3', km.get('api')
      assert_equal 3, km.current_version('api')
      assert ring.refresh
      assert_equal 3, ring.current_version
    end
  end

  def test_mounted_untrusted_owner_unless_trusted_uid
    _, mount, data_dir = mounted
    File.chown(65_534, 65_534, File.join(data_dir, 'db.key'))
    err = assert_error(K::InsecurePermissionsError, K::Status::INSECURE_PERMISSIONS, 'db') { open_mounted(mount).get('db') }
    assert_includes err.detail, '65534'
    assert_equal 'database key', open_mounted(mount, trusted_uid: 65_534).get('db')
  end

  def test_mounted_link_leading_outside
    root, mount, data_dir = mounted
    File.write(File.join(root, 'outside.key'), 'not in the source')
    File.symlink(File.join(root, 'outside.key'), File.join(data_dir, 'evil.key'))
    err = assert_error(K::InsecurePermissionsError, 10, 'evil') { open_mounted(mount).get('evil') }
    assert_includes err.detail, 'leads outside the mounted source'
    assert_equal Errno::EXDEV::Errno, err.errno # the kernel's refusal behind it
  end
end
