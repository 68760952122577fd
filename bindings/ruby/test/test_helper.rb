# frozen_string_literal: true

$LOAD_PATH.unshift File.expand_path('../lib', __dir__)
require 'codomyrmex_keys'
require 'minitest/autorun'
require 'openssl'
require 'tmpdir'
require 'fileutils'
require 'fcntl'
require 'pathname'

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

  # Closes +resource+ at teardown.
  def closes(resource)
    (@managers ||= []) << resource
    resource
  end

  def teardown
    (@managers || []).each(&:close)
    (@temp_dirs || []).each { |d| FileUtils.rm_rf(d) }
    super
  end

  # Runs the block, which must raise +klass+ with +status+ and a one-line
  # message naming +names+ (when given); returns the error.
  def assert_error(klass, status, names = nil, &block)
    err = assert_raises(klass, &block)
    assert_kind_of K::Error, err
    assert_equal status, err.status
    assert_equal K.status_name(status), err.status_name
    refute_empty err.detail.to_s
    refute_includes err.detail, "\n"
    assert_includes err.message, err.detail
    assert_includes err.detail, names if names
    err
  end

  # A new private (0600) file.
  def write_private(path, data)
    File.open(path, File::WRONLY | File::CREAT | File::EXCL, 0o600) { |f| f.write(data) }
  end

  # A key-encryption key: 32 random bytes in a private file.
  def make_kek(path)
    OpenSSL::Random.random_bytes(32).tap { |kek| write_private(path, kek) }
  end

  # The id the library gives a KEK: HMAC-SHA256(KEK, "codomyrmex_keys kek id v1"), 8 bytes, in hex.
  def kek_id(kek)
    hex(openssl_hmac(K::SHA256, kek, 'codomyrmex_keys kek id v1')[0, 8])
  end

  # The tagged MAC (HMAC-SHA256) of +data+ with version +version+ of +key+.
  def tagged(version, key, data)
    [1, version].pack('CN') + openssl_hmac(K::SHA256, key, data)
  end

  # Fills +mount+ as the kubelet fills a Secret volume, then swaps ..data
  # to it: versions[id] lists a key's versions, oldest first; the last is
  # <id>.key, the others <id>.key.v<N>, 0644 files in a ..<stamp>
  # directory; every name at the top links through ..data. Returns that
  # directory.
  def secret_volume(mount, versions, stamp = '2024_05_01_12_00_00.000000001')
    FileUtils.mkdir_p(mount)
    File.chmod(0o1777, mount) # a tmpfs mount point: world-writable with the sticky bit
    data_dir = File.join(mount, "..#{stamp}")
    Dir.mkdir(data_dir, 0o755)
    names = versions.flat_map do |id, list|
      list.each_with_index.map do |key, i|
        name = i == list.size - 1 ? "#{id}.key" : "#{id}.key.v#{i + 1}"
        File.binwrite(File.join(data_dir, name), key)
        File.chmod(0o644, File.join(data_dir, name))
        name
      end
    end
    File.symlink(File.basename(data_dir), File.join(mount, '..data_tmp'))
    File.rename(File.join(mount, '..data_tmp'), File.join(mount, '..data')) # the atomic swap
    names.each do |name|
      link = File.join(mount, name)
      File.symlink("..data/#{name}", link) unless File.symlink?(link)
    end
    data_dir
  end

  # Holds the writers' lock of +dir+ (a record lock over the whole .lock
  # file) while the block runs.
  def hold_lock(dir)
    File.open(File.join(dir, '.lock'), 'r+') do |f|
      flock = ->(type) { [type, 0, 0, 0, 0].pack('s!s!x4q!q!i!x4') } # struct flock; l_len 0: to the end
      assert_equal 0, f.fcntl(Fcntl::F_SETLK, flock.call(Fcntl::F_WRLCK))
      begin
        yield
      ensure
        f.fcntl(Fcntl::F_SETLK, flock.call(Fcntl::F_UNLCK))
      end
    end
  end

  # Every regular file under +root+: relative path => [content, mtime].
  def tree(root)
    Dir.glob('**/*', File::FNM_DOTMATCH, base: root).sort.filter_map do |name|
      path = File.join(root, name)
      [name, [File.binread(path), File.mtime(path)]] if File.file?(path) && !File.symlink?(path)
    end.to_h
  end

  # The files under +root+ whose bytes contain +secret+.
  def files_containing(root, secret)
    tree(root).select { |_, (bytes, _)| bytes.b.include?(secret.b) }.keys
  end
end
