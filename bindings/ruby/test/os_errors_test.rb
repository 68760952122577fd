# frozen_string_literal: true

require_relative 'test_helper'

# The errno behind a failure (codomyrmex_last_os_error) on the exception:
# Error#errno, which SystemCallError.=== compares, so `rescue Errno::ENOTDIR`
# catches it.
class OsErrorsTest < Minitest::Test
  include TestHelpers

  def sysfs_writable?
    File.foreach('/proc/self/mounts').any? do |line|
      f = line.split
      f[1] == '/sys' && f[2] == 'sysfs' && f[3].split(',').include?('rw')
    end
  rescue SystemCallError
    false
  end

  def test_a_path_through_a_regular_file_is_enotdir
    root = File.dirname(temp_dir)
    File.write(File.join(root, 'plain-file'), 'x')
    dir = File.join(root, 'plain-file', 'keys')
    [-> { K::KeyManager.open(dir) }, -> { K::KeyManager.open_with(dir) }].each do |open|
      err = assert_error(K::IOError, K::Status::IO, 'plain-file', &open)
      assert_equal Errno::ENOTDIR::Errno, err.errno
      assert_equal Errno::ENOTDIR, err.errno_class
    end
    caught = begin
      K::KeyManager.open(dir)
    rescue Errno::ENOTDIR => e # as around Dir.mkdir
      e
    end
    assert_kind_of K::IOError, caught
    assert_raises(Errno::ENOTDIR) { Dir.mkdir(dir) } # Ruby's own error for the same path
  end

  def test_a_read_only_open_of_a_missing_directory_is_enoent_and_creates_nothing
    root = File.dirname(temp_dir)
    err = assert_error(K::IOError, 9, 'missing') { K::KeyManager.open_with(File.join(root, 'missing', 'keys'), read_only: true) }
    assert_equal Errno::ENOENT::Errno, err.errno
    assert_empty Dir.children(root)
    assert_raises(Errno::ENOENT) { K::KeyManager.open_with(File.join(root, 'missing', 'keys'), read_only: true) }
  end

  def test_a_directory_nobody_may_create_is_eperm_or_eacces
    skip '/sys is not a read-write sysfs' unless sysfs_writable?
    # sysfs refuses mkdir to every user, root included.
    err = assert_error(K::IOError, 9, '/sys/codomyrmex-keys-test') { K::KeyManager.open('/sys/codomyrmex-keys-test/keys') }
    assert_includes [Errno::EPERM::Errno, Errno::EACCES::Errno], err.errno
    assert_raises(Errno::EPERM, Errno::EACCES) { K::KeyManager.open('/sys/codomyrmex-keys-test/keys') }
  end

  def test_the_lock_timeout_is_etimedout
    dir = temp_dir
    km = closes(K::KeyManager.open_with(dir, lock_timeout_ms: 100))
    km.store('k', 'first')
    err = nil
    waited = nil
    hold_lock(dir) do
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      err = assert_error(K::IOError, 9, 'timed out waiting for the lock') { km.store('k', 'second') }
      waited = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    end
    assert_includes err.detail, "'k'"
    assert_equal Errno::ETIMEDOUT::Errno, err.errno
    assert_operator waited, :>=, 0.09
    assert_operator waited, :<, 10
    assert_equal 'first', km.get('k')
    km.store('k', 'second')
    assert_equal 'second', km.get('k')
  end

  def test_the_librarys_own_verdicts_carry_no_errno
    km, = open_temp
    err = assert_error(K::NotFoundError, 6, 'absent') { km.get('absent') }
    assert_nil err.errno
    assert_nil err.errno_class
    refute(Errno::ENOENT === err) # what `rescue Errno::ENOENT` asks
    assert_nil K::IOError.new('no errno', errno: 0).errno
    assert_equal 28, K::IOError.new('disk full', errno: 28).errno
  end
end
