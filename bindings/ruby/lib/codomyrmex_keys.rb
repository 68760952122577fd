# frozen_string_literal: true

# Ruby bindings for codomyrmex_keys: a hardened key store with HMAC and HKDF
# over SHA-2, through its C interface (include/codomyrmex_keys.h).
#
#   require 'codomyrmex_keys'
#
#   CodomyrmexKeys::KeyManager.open('/var/lib/myapp/keys') do |km|
#     km.generate('api', 32) unless km.exists?('api')
#     mac = km.hmac('api', :sha256, 'message')
#     km.hmac_verify('api', :sha256, 'message', mac)   # => true, or raises
#   end
#
# Byte strings go in as any String (their bytes are used, whatever the
# encoding) and come out as binary (ASCII-8BIT) Strings. Failures raise a
# subclass of CodomyrmexKeys::Error carrying the status and the library's
# message. Algorithms are CodomyrmexKeys::SHA256 (1), SHA384 (2), SHA512 (3),
# or a name such as :sha256 or 'SHA-512'.
#
# Secrets: the library wipes its own copies; these bindings wipe every
# temporary C buffer that held a key or derived key. Ruby Strings that
# hold secrets and that you receive (get, get_version, rotate, hkdf*,
# derive*, random_bytes) are yours: wipe them with
# CodomyrmexKeys.secure_zero when done (best effort: Ruby may have copied
# them).
module CodomyrmexKeys
  # The version of these bindings, which follow the library's major version.
  BINDING_VERSION = '1.1.0'

  SHA256 = 1
  SHA384 = 2
  SHA512 = 3

  # The longest digest (SHA-512), in bytes: every MAC and PRK fits in it.
  MAX_DIGEST_LEN = 64
  # The largest key the key manager stores, in bytes.
  MAX_KEY_LEN = 65_536
  # The longest key id, in bytes.
  MAX_KEY_ID_LEN = 128
  # What a tagged MAC adds to the HMAC: 0x01 and a 4-byte big-endian version.
  TAG_OVERHEAD = 5
end

require_relative 'codomyrmex_keys/native'
require_relative 'codomyrmex_keys/errors'
require_relative 'codomyrmex_keys/support'
require_relative 'codomyrmex_keys/handle'
require_relative 'codomyrmex_keys/hmac'
require_relative 'codomyrmex_keys/open_options'
require_relative 'codomyrmex_keys/keyring'
require_relative 'codomyrmex_keys/key_manager'

module CodomyrmexKeys
  module_function

  # The version of the loaded library, e.g. "1.0.0".
  def version
    Native.codomyrmex_version
  end

  # The library's name for a status number, e.g. "CODOMYRMEX_ERR_NOT_FOUND";
  # "CODOMYRMEX_UNKNOWN_STATUS" for anything else.
  def status_name(status)
    return 'CODOMYRMEX_UNKNOWN_STATUS' unless status.is_a?(Integer) && status.between?(0, 0xffff_ffff)

    Native.codomyrmex_status_name(status)
  end

  # +n+ bytes from the operating system's CSPRNG.
  def random_bytes(n)
    n = Support.length(n, 'random_bytes')
    Support.with_output(n) do |buf|
      Support.check('random_bytes', Native.codomyrmex_random_bytes(buf, n))
      Support.read(buf, n)
    end
  end

  # Overwrites the bytes of +string+ with zeros, in place, and returns it.
  # Use it on keys and derived keys once you are done with them. Best
  # effort: copies Ruby made earlier (e.g. by String#+, #dup, #b) are
  # beyond its reach.
  def secure_zero(string)
    return string if string.nil? || string.bytesize.zero?
    raise FrozenError.new("can't wipe frozen String", receiver: string) if string.frozen?

    string.setbyte(0, string.getbyte(0)) # makes the buffer this String's own
    Native.codomyrmex_secure_zero(string, string.bytesize)
    string
  end

  # The algorithm number for +alg+: an Integer is returned as is (unknown
  # values fail later, in the call that uses them); a Symbol or String is
  # parsed like "sha256", "SHA-384", :sha512.
  def alg(alg)
    Support.alg(alg)
  end

  # The digest length of +alg+ in bytes (32, 48 or 64), which is also the
  # length of its HMAC; 0 for an unknown algorithm number.
  def digest_length(alg)
    Native.codomyrmex_hash_digest_len(Support.alg(alg))
  end

  # HMAC-+alg+ of +data+ under +key+ (any length, empty included).
  def hmac(alg, key, data)
    alg = Support.alg(alg)
    key = Support.bytes(key)
    data = Support.bytes(data)
    Support.fetch('hmac_compute', MAX_DIGEST_LEN) do |out, cap, len|
      Native.codomyrmex_hmac_compute(alg, key, key.bytesize, data, data.bytesize, out, cap, len)
    end
  end

  # Checks +mac+ against HMAC-+alg+ of +data+ under +key+ in constant time.
  # Returns true, or raises VerifyFailedError (also for a MAC that is not
  # the full digest length).
  def hmac_verify(alg, key, data, mac)
    alg = Support.alg(alg)
    key = Support.bytes(key)
    data = Support.bytes(data)
    mac = Support.bytes(mac)
    Support.check('hmac_verify', Native.codomyrmex_hmac_verify(
                                   alg, key, key.bytesize, data, data.bytesize, mac, mac.bytesize
                                 ))
    true
  end

  # HKDF-+alg+ (RFC 5869): +length+ bytes (1 to 255 x digest length) from
  # +ikm+ with +salt+ (nil or empty: no salt) and +info+. For high-entropy
  # input only: HKDF is not a password hash.
  def hkdf(alg, ikm, length, salt: nil, info: nil)
    alg = Support.alg(alg)
    ikm = Support.bytes(ikm)
    salt = Support.bytes(salt)
    info = Support.bytes(info)
    length = Support.okm_length(length, 'hkdf_derive')
    Support.with_output(length) do |okm|
      Support.check('hkdf_derive', Native.codomyrmex_hkdf_derive(
                                     alg, ikm, ikm.bytesize, salt, salt.bytesize,
                                     info, info.bytesize, okm, length
                                   ))
      Support.read(okm, length)
    end
  end

  # HKDF-Extract: the pseudorandom key (digest length bytes) of +ikm+ under
  # +salt+ (nil or empty: no salt).
  def hkdf_extract(alg, ikm, salt: nil)
    alg = Support.alg(alg)
    ikm = Support.bytes(ikm)
    salt = Support.bytes(salt)
    Support.fetch('hkdf_extract', MAX_DIGEST_LEN) do |out, cap, len|
      Native.codomyrmex_hkdf_extract(alg, salt, salt.bytesize, ikm, ikm.bytesize, out, cap, len)
    end
  end

  # HKDF-Expand: +length+ bytes from the pseudorandom key +prk+ (at least
  # digest length bytes) and +info+.
  def hkdf_expand(alg, prk, length, info: nil)
    alg = Support.alg(alg)
    prk = Support.bytes(prk)
    info = Support.bytes(info)
    length = Support.okm_length(length, 'hkdf_expand')
    Support.with_output(length) do |okm|
      Support.check('hkdf_expand', Native.codomyrmex_hkdf_expand(
                                     alg, prk, prk.bytesize, info, info.bytesize, okm, length
                                   ))
      Support.read(okm, length)
    end
  end
end
