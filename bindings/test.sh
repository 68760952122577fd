#!/usr/bin/env bash
# Runs the tests of every binding (Go, Ruby, Node, Python), then the
# cross-language check: each language stores a key and MACs a message in one
# shared key directory (with the key manager, and a tagged MAC with a
# keyring), and every language verifies what all of them wrote (with the key
# manager, the one-shot HMAC and a keyring).
#
#   bindings/test.sh             all four languages
#   bindings/test.sh go python   only these
set -euo pipefail
cd "$(dirname "$0")"
# One library for all of them (see lib-dir.sh).
source ./lib-dir.sh
languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=(go ruby node python)

for lang in "${languages[@]}"; do
    printf '\n==> %s binding\n' "$lang"
    "./$lang/test.sh"
done

printf '\n==> cross-language check (%s)\n' "${languages[*]}"
shared=$(mktemp -d)
trap 'rm -rf "$shared"' EXIT
for lang in "${languages[@]}"; do
    "./$lang/cross.sh" write "$shared/keys"
done
for lang in "${languages[@]}"; do
    echo "-- verified by $lang:"
    "./$lang/cross.sh" verify "$shared/keys"
done
