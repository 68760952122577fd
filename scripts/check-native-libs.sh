#!/usr/bin/env bash
# Checks that packaging/native-static-libs.txt (used by the C build, the
# pkg-config file and the CMake package) lists exactly the native libraries
# rustc says a static link of this crate needs.
set -euo pipefail
cd "$(dirname "$0")/.."
expected=$(cat packaging/native-static-libs.txt)
actual=$(cargo rustc --quiet --locked --lib --crate-type staticlib \
    --target-dir "${CARGO_TARGET_DIR:-target}/native-libs" -- --print native-static-libs 2>&1 |
    sed -n 's/.*native-static-libs: //p' | head -n 1)
if [ "$actual" != "$expected" ]; then
    echo "packaging/native-static-libs.txt says: $expected" >&2
    echo "rustc says:                            $actual" >&2
    exit 1
fi
echo "native libraries of a static link: $actual"
