#!/usr/bin/env bash
# Installs the pinned npm dependencies, type-checks the TypeScript
# declarations and runs the tests of the Node binding.
#
# The native library: $CODOMYRMEX_KEYS_LIB_DIR if set, else the one
# scripts/capi.sh stages (built here if missing); see ../lib-dir.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

# shellcheck source=../../scripts/setup.sh
source "$repo/scripts/setup.sh"
require_commands node:nodejs npm:npm

stage() { printf '\n==> %s\n' "$*"; }

# shellcheck source=../lib-dir.sh
source "$here/../lib-dir.sh"

stage "node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund

stage "type check (tsc --noEmit --strict)"
npx tsc --version
npx tsc --noEmit --strict -p test/tsconfig.json

stage "tests (node --test)"
node --test test/*.test.js
