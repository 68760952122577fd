# frozen_string_literal: true

require_relative 'test_helper'

class VectorsTest < Minitest::Test
  include TestHelpers

  # RFC 4231 (HMAC-SHA-256/384/512); case 5 gives only the leftmost 128 bits.
  RFC4231 = [
    [1, "\x0b".b * 20, 'Hi There',
     %w[b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7
        afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6
        87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854]],
    [2, 'Jefe', 'what do ya want for nothing?',
     %w[5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
        af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649
        164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737]],
    [3, "\xaa".b * 20, "\xdd".b * 50,
     %w[773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe
        88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27
        fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb]],
    [4, (1..0x19).map(&:chr).join.b, "\xcd".b * 50,
     %w[82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b
        3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb
        b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd]],
    [5, "\x0c".b * 20, 'Test With Truncation',
     %w[a3b6167473100ee06e0c796c2955552b 3abf34c3503b2a23a46efc619baef897 415fad6271580a531d4179bc891d87a6]],
    [6, "\xaa".b * 131, 'Test Using Larger Than Block-Size Key - Hash Key First',
     %w[60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54
        4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952
        80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598]],
    [7, "\xaa".b * 131,
     'This is a test using a larger than block-size key and a larger than block-size data. ' \
     'The key needs to be hashed before being used by the HMAC algorithm.',
     %w[9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2
        6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e
        e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58]]
  ].freeze

  RFC4231.each do |number, key, data, expected|
    define_method("test_rfc4231_case_#{number}") do
      ALGS.zip(expected).each do |alg, want_hex|
        mac = K.hmac(alg, key, data)
        assert_equal K.digest_length(alg), mac.bytesize
        assert_equal Encoding::BINARY, mac.encoding
        if number == 5
          assert_equal want_hex, hex(mac[0, 16])
          assert_raises(K::VerifyFailedError) { K.hmac_verify(alg, key, data, unhex(want_hex)) }
        else
          assert_equal want_hex, hex(mac)
          assert K.hmac_verify(alg, key, data, unhex(want_hex))
        end
        # The stream agrees whatever the chunking, and verifies.
        [1, 7, 64, 1000].each do |chunk|
          K::Hmac.open(alg, key) do |h|
            data.b.scan(/.{1,#{chunk}}/mn).each { |piece| h << piece }
            assert_equal hex(mac), hex(h.finish), "chunks of #{chunk}"
            h.update(data)
            assert h.finish_verify(mac)
          end
        end
      end
    end
  end

  # RFC 5869 cases 1-3 (HKDF-SHA-256).
  RFC5869 = [
    [1, "\x0b".b * 22, (0x00..0x0c).map(&:chr).join.b, (0xf0..0xf9).map(&:chr).join.b,
     '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
     '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'],
    [2, (0x00..0x4f).map(&:chr).join.b, (0x60..0xaf).map(&:chr).join.b, (0xb0..0xff).map(&:chr).join.b,
     '06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244',
     'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87'],
    [3, "\x0b".b * 22, nil, nil,
     '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
     '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8']
  ].freeze

  RFC5869.each do |number, ikm, salt, info, prk_hex, okm_hex|
    define_method("test_rfc5869_case_#{number}") do
      okm = unhex(okm_hex)
      prk = K.hkdf_extract(K::SHA256, ikm, salt: salt)
      assert_equal prk_hex, hex(prk)
      assert_equal okm_hex, hex(K.hkdf_expand(K::SHA256, prk, okm.bytesize, info: info))
      assert_equal okm_hex, hex(K.hkdf(K::SHA256, ikm, okm.bytesize, salt: salt, info: info))
      assert_equal okm[0, 5], K.hkdf(:sha256, ikm, 5, salt: salt, info: info)
    end
  end

  def test_no_salt_is_hash_length_zero_bytes
    ikm = "\x0b".b * 22
    assert_equal K.hkdf(K::SHA256, ikm, 42), K.hkdf(K::SHA256, ikm, 42, salt: "\0" * 32)
    assert_equal K.hkdf(K::SHA256, ikm, 42), K.hkdf(K::SHA256, ikm, 42, salt: '')
  end

  # Random inputs against Ruby's OpenSSL, through every entry point.
  def test_differential_against_openssl
    rng = Random.new(5869)
    200.times do |i|
      alg = ALGS[i % 3]
      key = rng.bytes(rng.rand(301))
      data = rng.bytes(rng.rand(2001))
      want = openssl_hmac(alg, key, data)
      assert_equal hex(want), hex(K.hmac(alg, key, data))
      assert K.hmac_verify(alg, key, data, want)

      ikm = rng.bytes(rng.rand(101))
      salt = rng.bytes(rng.rand(101))
      info = rng.bytes(rng.rand(101))
      n = 1 + rng.rand(255 * K.digest_length(alg))
      ref_salt = salt.empty? ? "\0" * K.digest_length(alg) : salt
      ref = OpenSSL::KDF.hkdf(ikm, salt: ref_salt, info: info, length: n, hash: DIGESTS[alg])
      okm = K.hkdf(alg, ikm, n, salt: salt, info: info)
      assert_equal hex(ref), hex(okm), "HKDF #{alg} length #{n}"
      prk = K.hkdf_extract(alg, ikm, salt: salt)
      assert_equal okm, K.hkdf_expand(alg, prk, n, info: info)
    end
  end

  def test_text_inputs_are_used_as_bytes
    key = 'clé'
    data = 'données ünïcode'
    assert_equal openssl_hmac(K::SHA256, key.b, data.b), K.hmac(:sha256, key, data)
    assert_equal K.hmac(:sha256, key.encode('UTF-16LE'), data), openssl_hmac(K::SHA256, key.encode('UTF-16LE').b, data.b)
  end

  def test_hkdf_limits
    ALGS.each do |alg|
      max = 255 * K.digest_length(alg)
      assert_equal max, K.hkdf(alg, 'ikm', max).bytesize
      [0, max + 1, -1, 1 << 40].each do |n|
        assert_raises(K::InvalidArgumentError, "#{alg} length #{n}") { K.hkdf(alg, 'ikm', n) }
        assert_raises(K::InvalidArgumentError) { K.hkdf_expand(alg, "\0" * K.digest_length(alg), n) }
      end
      err = assert_raises(K::InvalidArgumentError) { K.hkdf_expand(alg, "\0" * (K.digest_length(alg) - 1), 16) }
      refute_empty err.detail
    end
  end

  def test_hmac_stream
    key = 'stream key'
    h = K::Hmac.new(:sha512, key)
    assert_equal 64, h.digest_length
    ['', 'one', 'two', 'a longer third message'].each do |msg|
      h << msg
      assert_equal openssl_hmac(K::SHA512, key, msg), h.finish
    end
    h << 'garbage'
    assert_same h, h.reset
    h << 'one'
    assert_equal openssl_hmac(K::SHA512, key, 'one'), h.finish
    # A failed verification resets the stream too.
    h.update('one')
    assert_raises(K::VerifyFailedError) { h.finish_verify("\0" * 64) }
    h.update('one')
    assert_raises(K::VerifyFailedError) { h.finish_verify(openssl_hmac(K::SHA512, key, 'one')[0, 32]) }
    h.update('one').update('')
    assert h.finish_verify(openssl_hmac(K::SHA512, key, 'one'))
    # Closing is idempotent; later use raises, never crashes.
    refute h.closed?
    h.close
    h.close
    assert h.closed?
    assert_raises(K::NullPointerError) { h << 'x' }
    assert_raises(K::NullPointerError) { h.finish }
    assert_raises(K::NullPointerError) { h.finish_verify('') }
    assert_raises(K::UnsupportedAlgorithmError) { K::Hmac.new(99, key) }
    # Empty key and message.
    assert_equal openssl_hmac(K::SHA256, '', ''), K::Hmac.open(K::SHA256, nil, &:finish)
    # The block form closes the stream even when the block raises.
    stream = nil
    assert_raises(RuntimeError) do
      K::Hmac.open(:sha256, key) do |s|
        stream = s
        raise 'boom'
      end
    end
    assert stream.closed?
  end
end
