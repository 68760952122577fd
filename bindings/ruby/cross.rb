# frozen_string_literal: true

# Cross-language check shared by every binding of codomyrmex_keys: each
# language writes a key and two MACs into one key directory, then each
# language verifies what all of them wrote.
#
#   ruby -Ilib cross.rb write DIR    # key cross-ruby, cross-ruby.mac, .tag, .ktag
#   ruby -Ilib cross.rb verify DIR   # checks every DIR/cross-*.mac
#
# write: store the key id cross-<lang> with the bytes of
# "cross-language key from <lang>" (replacing any existing one), write the
# lowercase hex of its HMAC-SHA256 of "cross-language message" plus "\n" to
# DIR/cross-<lang>.mac, the hex of its tagged MAC to DIR/cross-<lang>.tag and
# the hex of the tagged MAC made by a keyring of the key (SHA-256) to
# DIR/cross-<lang>.ktag.
# verify: for every DIR/cross-*.mac, check the MAC with the key manager, the
# .tag and .ktag with the tagged verify, the key read back with get with the
# one-shot HMAC verify, and the MAC, .tag and .ktag with a keyring of the
# key (SHA-256).

require 'codomyrmex_keys'

module CrossCheck
  MESSAGE = 'cross-language message'

  module_function

  def key_for(lang)
    "cross-language key from #{lang}".b
  end

  def write(dir, lang = 'ruby')
    id = "cross-#{lang}"
    CodomyrmexKeys::KeyManager.open(dir) do |km|
      km.store(id, key_for(lang))
      write_hex(File.join(dir, "#{id}.mac"), km.hmac(id, CodomyrmexKeys::SHA256, MESSAGE))
      write_hex(File.join(dir, "#{id}.tag"), km.hmac_tagged(id, CodomyrmexKeys::SHA256, MESSAGE))
      ring_tag = km.load(id, CodomyrmexKeys::SHA256) { |ring| ring.hmac_tagged(MESSAGE) }
      write_hex(File.join(dir, "#{id}.ktag"), ring_tag)
    end
  end

  # Replaces +path+ atomically, so a concurrent reader never sees half a line.
  def write_hex(path, bytes)
    tmp = File.join(File.dirname(path), ".#{File.basename(path)}.tmp")
    File.open(tmp, 'w', 0o600) { |f| f.write("#{bytes.unpack1('H*')}\n") }
    File.rename(tmp, path)
  end

  def read_hex(path)
    text = File.read(path).strip
    raise ArgumentError, "#{File.basename(path)} is not hex" unless text.match?(/\A(?:[0-9a-fA-F]{2})*\z/)

    [text].pack('H*')
  end

  # Prints one line per language to +out+; returns [checked, failed].
  def verify(dir, out = $stdout)
    files = Dir.glob(File.join(dir, 'cross-*.mac')).sort
    return [0, 0] if files.empty?

    failed = 0
    CodomyrmexKeys::KeyManager.open(dir) do |km|
      files.each do |file|
        lang = File.basename(file, '.mac').delete_prefix('cross-')
        problem = check(km, dir, lang)
        if problem
          failed += 1
          out.puts "FAIL #{lang}: #{problem}"
        else
          out.puts "ok   #{lang}: key manager HMAC, tagged MACs, one-shot HMAC and keyring verified (checked by ruby)"
        end
      end
    end
    [files.size, failed]
  end

  # nil if every check passes, else what failed.
  def check(km, dir, lang)
    id = "cross-#{lang}"
    step = 'reading the .mac file'
    mac = read_hex(File.join(dir, "#{id}.mac"))
    step = 'reading the .tag file'
    tag = read_hex(File.join(dir, "#{id}.tag"))
    step = 'reading the .ktag file'
    ring_tag = read_hex(File.join(dir, "#{id}.ktag"))
    step = 'key manager HMAC'
    km.hmac_verify(id, CodomyrmexKeys::SHA256, MESSAGE, mac)
    step = 'tagged MAC'
    km.hmac_verify_tagged(id, CodomyrmexKeys::SHA256, MESSAGE, tag)
    step = 'keyring tagged MAC'
    km.hmac_verify_tagged(id, CodomyrmexKeys::SHA256, MESSAGE, ring_tag)
    step = 'keyring'
    km.load(id, CodomyrmexKeys::SHA256) do |ring|
      ring.hmac_verify(MESSAGE, mac)
      ring.hmac_verify_tagged(MESSAGE, tag)
      ring.hmac_verify_tagged(MESSAGE, ring_tag)
    end
    step = 'get'
    key = km.get(id)
    begin
      return "stored key is not #{key_for(lang).inspect}" unless key == key_for(lang)

      step = 'one-shot HMAC'
      CodomyrmexKeys.hmac_verify(CodomyrmexKeys::SHA256, key, MESSAGE, mac)
    ensure
      CodomyrmexKeys.secure_zero(key)
    end
    nil
  rescue CodomyrmexKeys::Error, SystemCallError, ArgumentError => e
    "#{step}: #{e.message}"
  end

  def main(argv)
    mode, dir = argv
    unless argv.size == 2 && %w[write verify].include?(mode)
      warn 'usage: cross.rb write|verify DIR'
      return 2
    end
    if mode == 'write'
      write(dir)
      puts "ruby: wrote cross-ruby.mac, .tag and .ktag in #{dir}"
      return 0
    end
    checked, failed = verify(dir)
    if checked.zero?
      warn "cross verify (ruby): no cross-*.mac file in #{dir}"
      return 1
    end
    warn "cross verify (ruby): #{failed} of #{checked} languages failed" if failed.positive?
    failed.zero? ? 0 : 1
  rescue CodomyrmexKeys::Error, SystemCallError => e
    warn "cross #{mode} (ruby): #{e.message}"
    1
  end
end

exit CrossCheck.main(ARGV) if $PROGRAM_NAME == __FILE__
