#!/usr/bin/env bash
# Runs the tests of the Ruby binding (minitest) against libcodomyrmex_keys.so.1
# from $CODOMYRMEX_KEYS_LIB_DIR, else the library scripts/capi.sh stages
# (built if absent). Extra arguments go to minitest (e.g. -v, -n /rfc4231/).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ruby_dir"
echo "==> ruby tests ($(ruby -e 'require "ffi"; print "ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}"'), library in $CODOMYRMEX_KEYS_LIB_DIR)"
if [ -z "${CODOMYRMEX_TEST_ETCD_ENDPOINTS:-}" ]; then
    echo "note: the etcd tests are skipped: CODOMYRMEX_TEST_ETCD_ENDPOINTS is not set (bindings/test.sh starts a cluster and sets it)"
fi
ruby -w -Ilib -Itest test/run.rb "$@"
