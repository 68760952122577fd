# frozen_string_literal: true

require_relative 'test_helper'

# Keys sealed at rest under a key-encryption key (§11).
class SealingTest < Minitest::Test
  include TestHelpers

  ALPHA = 'alpha key one, plain'.b
  BETA = 'beta key, plain on disk'.b

  def setup
    @dir = temp_dir
    @root = File.dirname(@dir)
    @kek_file = File.join(@root, 'kek')
    @kek = make_kek(@kek_file)
  end

  def sealed(**options)
    closes(K::KeyManager.open_with(@dir, kek_file: @kek_file, **options))
  end

  def plain(&block)
    K::KeyManager.open(@dir, &block)
  end

  def test_files_written_with_a_kek_are_sealed_and_read_back
    km = sealed
    km.store('alpha', ALPHA)
    km.rotate('alpha', 'alpha key two, sealed')
    assert_equal 'alpha key two, sealed', km.get('alpha')
    assert_equal ALPHA, km.get_version('alpha', 1)
    assert_empty files_containing(@dir, ALPHA)
    assert_empty files_containing(@dir, 'alpha key two, sealed')
    file = File.binread(File.join(@dir, 'alpha.key'))
    assert_equal "\x89CDXSEAL".b, file[0, 8]
    assert_equal kek_id(@kek), hex(file[10, 8])
    assert_equal 'alpha key two, sealed', sealed(require_sealed: true).get('alpha')
  end

  def test_a_wrong_or_missing_kek_is_corrupt_naming_the_kek_ids
    sealed.store('alpha', ALPHA)
    other = make_kek(File.join(@root, 'other-kek'))
    wrong = closes(K::KeyManager.open_with(@dir, kek_file: File.join(@root, 'other-kek')))
    err = assert_error(K::CorruptError, K::Status::CORRUPT, kek_id(@kek)) { wrong.get('alpha') }
    assert_includes err.detail, kek_id(other)
    assert_includes err.detail, 'alpha'
    err = plain { |km| assert_error(K::CorruptError, 11, kek_id(@kek)) { km.get('alpha') } }
    assert_includes err.detail, 'no KEK was given'
  end

  def test_require_sealed_refuses_a_plain_key
    plain { |km| km.store('alpha', ALPHA) }
    assert_error(K::CorruptError, 11, 'alpha') { sealed(require_sealed: true).get('alpha') }
    assert_equal ALPHA, sealed.get('alpha')
  end

  def test_seal_all_counts_then_is_idempotent
    plain do |km|
      km.store('alpha', ALPHA)
      km.rotate('alpha', 'alpha key two, plain')
      km.store('beta', BETA)
      km.stage('beta', 'beta staged, plain')
    end
    records = tree(@dir).keys - ['.lock']
    assert_equal 5, records.size, records.inspect # 2 key files, 2 version records, 1 staged record
    km = sealed
    assert_equal 5, km.seal_all
    [ALPHA, BETA, 'alpha key two, plain', 'beta staged, plain'].each do |secret|
      assert_empty files_containing(@dir, secret), secret
    end
    assert_equal 0, km.seal_all
    strict = sealed(require_sealed: true)
    assert_equal 'alpha key two, plain', strict.get('alpha')
    assert_equal ALPHA, strict.get_version('alpha', 1)
    assert_equal 'beta staged, plain', strict.get_version('beta', 2)
  end

  def test_seal_all_needs_a_kek_and_the_kek_file_is_checked
    plain do |km|
      km.store('alpha', ALPHA)
      assert_error(K::InvalidArgumentError, 2, 'without a KEK') { km.seal_all }
    end
    File.chmod(0o644, @kek_file)
    assert_error(K::InsecurePermissionsError, 10, @kek_file) { sealed }
    write_private(File.join(@root, 'short-kek'), 'too short')
    assert_error(K::InvalidArgumentError, 2, 'short-kek') do
      K::KeyManager.open_with(@dir, kek_file: Pathname(File.join(@root, 'short-kek')))
    end
  end
end
