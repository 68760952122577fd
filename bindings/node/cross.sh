#!/usr/bin/env bash
# Cross-language check for the Node binding: cross.sh write|verify DIR
# (protocol in cross.js). Installs the npm dependencies first if missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../scripts/setup.sh
source "$here/../../scripts/setup.sh"
require_commands node:nodejs npm:npm >&2
# shellcheck source=../lib-dir.sh
source "$here/../lib-dir.sh"
if [ ! -d "$here/node_modules/koffi" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent) >&2
fi
exec node "$here/cross.js" "$@"
