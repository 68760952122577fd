#!/usr/bin/env bash
# Installs the pinned npm dependencies, type-checks the TypeScript
# declarations and runs the tests of the Node binding.
#
# The native library is found as the binding finds it: $CODOMYRMEX_KEYS_LIB_DIR
# if set, else <repo>/target/release (built here if missing), else the system's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

# shellcheck source=../../scripts/setup.sh
source "$repo/scripts/setup.sh"
require_commands node:nodejs npm:npm

stage() { printf '\n==> %s\n' "$*"; }

if [ -z "${CODOMYRMEX_KEYS_LIB_DIR:-}" ] && [ ! -e "$repo/target/release/libcodomyrmex_keys.so" ]; then
  stage "building the library (cargo build --release)"
  (cd "$repo" && cargo build --release --locked)
fi

stage "node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund

stage "type check (tsc --noEmit --strict)"
npx tsc --version
npx tsc --noEmit --strict -p test/tsconfig.json

stage "tests (node --test)"
node --test test/*.test.js
