#!/usr/bin/env bash
# Builds the library and the C demo, then runs the demo against the default
# key directory ($TMPDIR/codomyrmex_keys, else /tmp/codomyrmex_keys).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands cmake:cmake cc:gcc python3:python3

build=build/examples-c
cmake -S examples-c -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target demo -j "$(nproc)"
echo
"$build/demo"
