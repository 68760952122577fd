# frozen_string_literal: true

# The codomyrmex_keys gem. Built from a directory that holds
# lib/codomyrmex_keys/native/libcodomyrmex_keys.so.1 (the packaging script
# puts the release build there), it is a platform gem (x86_64-linux) that
# carries the library; without it, a plain Ruby gem that loads the system's
# libcodomyrmex_keys.so.1 (Debian package libcodomyrmex-keys1).
version = File.read(File.join(__dir__, 'lib', 'codomyrmex_keys.rb'))[/BINDING_VERSION = '([^']+)'/, 1]
bundled = 'lib/codomyrmex_keys/native/libcodomyrmex_keys.so.1'

Gem::Specification.new do |spec|
  spec.name = 'codomyrmex_keys'
  spec.version = version
  spec.summary = 'Hardened key store, HMAC and HKDF over SHA-2 (the codomyrmex_keys library; Linux only)'
  spec.description = 'Ruby bindings (ffi) for codomyrmex_keys: keys as private files with atomic, ' \
                     'durable writes, versions kept on rotation, HMAC and HKDF over SHA-256/384/512. ' \
                     'Linux only.'
  spec.license = 'Apache-2.0'
  spec.authors = ['codomyrmex_keys developers']
  spec.homepage = 'https://github.com/codomyrmex/codomyrmex-keys/tree/main/bindings/ruby'
  spec.metadata = {
    'source_code_uri' => 'https://github.com/codomyrmex/codomyrmex-keys',
    'rubygems_mfa_required' => 'true'
  }
  spec.required_ruby_version = '>= 3.0'
  spec.files = Dir.glob('lib/**/*.rb', base: __dir__) + %w[README.md LICENSE]
  if File.file?(File.join(__dir__, bundled))
    spec.files << bundled
    spec.platform = Gem::Platform.local
  end
  spec.require_paths = ['lib']
  spec.requirements << 'Linux; libcodomyrmex_keys.so.1 (bundled in the platform gem, else the system library)'
  spec.add_dependency 'ffi', '~> 1.15'
end
