# frozen_string_literal: true

require_relative 'test_helper'
require_relative '../cross'
require 'stringio'

class CrossTest < Minitest::Test
  include TestHelpers

  def test_write_then_verify
    dir = temp_dir
    CrossCheck.write(dir, 'ruby')
    CrossCheck.write(dir, 'other')
    CrossCheck.write(dir, 'ruby') # again: replaces, still verifies
    mac_line = File.read(File.join(dir, 'cross-ruby.mac'))
    want = OpenSSL::HMAC.hexdigest('SHA256', 'cross-language key from ruby', 'cross-language message')
    assert_equal "#{want}\n", mac_line
    tag_line = File.read(File.join(dir, 'cross-ruby.tag'))
    assert_match(/\A0100000002[0-9a-f]{64}\n\z/, tag_line)
    assert_equal tag_line, File.read(File.join(dir, 'cross-ruby.ktag'))
    out = StringIO.new
    assert_equal [2, 0], CrossCheck.verify(dir, out)
    assert_equal 2, out.string.lines.size
    assert(out.string.lines.all? { |l| l.start_with?('ok   ') })
  end

  def test_verify_failures
    dir = temp_dir
    assert_equal [0, 0], CrossCheck.verify(dir, StringIO.new)
    _, err = capture_io { assert_equal 1, CrossCheck.main(['verify', dir]) } # nothing found fails
    assert_match(/no cross-\*\.mac file/, err)
    CrossCheck.write(dir, 'ruby')
    File.write(File.join(dir, 'cross-bad.mac'), "#{'00' * 32}\n")
    out = StringIO.new
    assert_equal [2, 1], CrossCheck.verify(dir, out)
    assert_match(/^FAIL bad: /, out.string)
    File.delete(File.join(dir, 'cross-bad.mac'))
    ktag = File.join(dir, 'cross-ruby.ktag')
    text = File.read(ktag)
    File.write(ktag, "#{text[0..-3]}#{text[-2] == '0' ? '1' : '0'}\n")
    out = StringIO.new
    assert_equal [1, 1], CrossCheck.verify(dir, out)
    assert_match(/^FAIL ruby: keyring tagged MAC: /, out.string)
    File.delete(ktag)
    out = StringIO.new
    assert_equal [1, 1], CrossCheck.verify(dir, out)
    assert_match(/^FAIL ruby: reading the .ktag file/, out.string)
    File.delete(File.join(dir, 'cross-ruby.tag'))
    out = StringIO.new
    assert_equal [1, 1], CrossCheck.verify(dir, out)
    assert_match(/^FAIL ruby: reading the .tag file/, out.string)
    capture_io { assert_equal 2, CrossCheck.main(['bogus']) }
  end
end
