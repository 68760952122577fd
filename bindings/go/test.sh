#!/usr/bin/env bash
# Runs go vet and the tests of the Go binding against libcodomyrmex_keys.so
# from $CODOMYRMEX_KEYS_LIB_DIR, else <repo>/target/release (built if
# absent). Extra arguments go to `go test` (e.g. -v, -run TestRFC4231).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$go_dir"
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
    echo "error: not gofmt-formatted: $unformatted" >&2
    exit 1
fi
echo "==> go vet ($(go version | cut -d' ' -f3), library in $lib_dir)"
go vet ./...
echo "==> go test"
if [ -z "${CODOMYRMEX_TEST_ETCD_ENDPOINTS:-}" ]; then
    echo "note: the etcd tests are skipped: CODOMYRMEX_TEST_ETCD_ENDPOINTS is not set (bindings/test.sh starts a cluster and sets it)"
fi
go test -count=1 "$@" ./...
