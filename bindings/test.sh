#!/usr/bin/env bash
# Runs the tests of every binding (Go, Ruby, Node, Python), then the
# cross-language check: each language stores a key and MACs a message in one
# shared key directory (with the key manager, and a tagged MAC with a
# keyring), and every language verifies what all of them wrote (with the key
# manager, the one-shot HMAC and a keyring).
#
# First it starts one real 3-member etcd cluster with TLS (client
# certificates) and authentication (scripts/etcd-cluster.sh, which installs
# etcd when it is missing), stopped at exit, for every language's etcd tests:
# they read it from CODOMYRMEX_TEST_ETCD_ENDPOINTS, _CA_FILE, _CERT_FILE,
# _KEY_FILE, _USER and _PASSWORD_FILE (run alone, a binding's test.sh skips
# them).
#
#   bindings/test.sh             all four languages
#   bindings/test.sh go python   only these
set -euo pipefail
cd "$(dirname "$0")"
# One library for all of them (see lib-dir.sh).
source ./lib-dir.sh
languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=(go ruby node python)

etcd_dir=$(mktemp -d)
shared=$(mktemp -d)
cleanup() {
    ../scripts/etcd-cluster.sh stop "$etcd_dir" || true
    rm -rf "$etcd_dir" "$shared"
}
trap cleanup EXIT

printf '\n==> etcd cluster for the etcd tests (3 members, TLS, authentication)\n'
../scripts/etcd-cluster.sh start "$etcd_dir" --tls --auth --owner-pid $$
# shellcheck source=/dev/null
source "$etcd_dir/env"
export CODOMYRMEX_TEST_ETCD_ENDPOINTS="${ETCD_ENDPOINTS:?}"
export CODOMYRMEX_TEST_ETCD_CA_FILE="${ETCD_CA_FILE:?}"
export CODOMYRMEX_TEST_ETCD_CERT_FILE="${ETCD_CERT_FILE:?}"
export CODOMYRMEX_TEST_ETCD_KEY_FILE="${ETCD_KEY_FILE:?}"
export CODOMYRMEX_TEST_ETCD_USER="${ETCD_USER:?}"
export CODOMYRMEX_TEST_ETCD_PASSWORD_FILE="${ETCD_PASSWORD_FILE:?}"

for lang in "${languages[@]}"; do
    printf '\n==> %s binding\n' "$lang"
    "./$lang/test.sh"
done

printf '\n==> cross-language check (%s)\n' "${languages[*]}"
for lang in "${languages[@]}"; do
    "./$lang/cross.sh" write "$shared/keys"
done
for lang in "${languages[@]}"; do
    echo "-- verified by $lang:"
    "./$lang/cross.sh" verify "$shared/keys"
done
