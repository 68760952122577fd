#!/usr/bin/env bash
# Cross-language check, Go side: cross.sh write DIR | cross.sh verify DIR
# (see internal/cross/cross.go for the protocol).
set -euo pipefail
if [ $# -ne 2 ] || { [ "$1" != write ] && [ "$1" != verify ]; }; then
    echo "usage: $0 write|verify DIR" >&2
    exit 2
fi
source "$(dirname "$0")/env.sh"
bin_dir="$(mktemp -d)"
trap 'rm -rf "$bin_dir"' EXIT
(cd "$go_dir" && go build -o "$bin_dir/cross" ./cmd/cross)
"$bin_dir/cross" "$1" "$2"
