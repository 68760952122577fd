# frozen_string_literal: true

require_relative 'test_helper'

# Staged rotation: stage, stage_generate, promote (§12).
class StagingTest < Minitest::Test
  include TestHelpers

  def test_a_staged_version_verifies_but_signs_only_once_promoted
    km, = open_temp
    km.store('k', 'current key')
    staged = km.stage('k', 'staged key')
    assert_equal 2, staged
    assert_equal [1, 2], km.list_versions('k')
    assert_equal 1, km.current_version('k')
    assert_equal 'current key', km.get('k')
    assert_equal 'staged key', km.get_version('k', 2)
    assert_equal openssl_hmac(K::SHA256, 'current key', 'm'), km.hmac('k', :sha256, 'm')
    assert_equal tagged(1, 'current key', 'm'), km.hmac_tagged('k', :sha256, 'm')
    assert km.hmac_verify_tagged('k', :sha256, 'm', tagged(2, 'staged key', 'm'))

    assert_nil km.promote('k', staged)
    assert_equal 2, km.current_version('k')
    assert_equal 'staged key', km.get('k')
    assert_equal tagged(2, 'staged key', 'm'), km.hmac_tagged('k', :sha256, 'm')
    assert km.hmac_verify_tagged('k', :sha256, 'm', tagged(1, 'current key', 'm'))
  end

  def test_stage_generate
    km, = open_temp
    km.generate('k', 32)
    assert_equal 2, km.stage_generate('k', 48)
    assert_equal 48, km.get_version('k', 2).bytesize
    assert_equal 3, km.stage_generate('k')
    assert_equal 32, km.get_version('k', 3).bytesize
    assert_equal 1, km.current_version('k')
    km.promote(:k, 3)
    assert_equal 3, km.current_version('k')
  end

  def test_errors
    km, = open_temp
    km.store('k', 'key')
    assert_error(K::NotFoundError, K::Status::NOT_FOUND, 'absent') { km.stage('absent', 'x') }
    assert_error(K::NotFoundError, 6, 'absent') { km.stage_generate('absent') }
    assert_error(K::NotFoundError, 6, "'k'") { km.promote('k', 1) }
    assert_error(K::NotFoundError, 6, "'k'") { km.promote('k', 7) }
    assert_error(K::NotFoundError, 6, 'absent') { km.promote('absent', 2) }
    assert_error(K::InvalidArgumentError, 2, 'key_len') { km.stage('k', '') }
    assert_error(K::InvalidArgumentError, 2, 'key_len') { km.stage_generate('k', 0) }
    assert_error(K::InvalidArgumentError, 2, 'length') { km.stage_generate('k', -1) }
    assert_error(K::InvalidArgumentError, 2, 'version') { km.promote('k', -1) }
    assert_error(K::InvalidKeyIdError, 3, '../k') { km.stage('../k', 'x') }
    assert_equal [1], km.list_versions('k')
  end
end
