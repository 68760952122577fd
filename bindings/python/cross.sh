#!/usr/bin/env bash
# Cross-language check for the Python binding: cross.sh write|verify DIR
# (protocol in cross.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib-dir.sh
source "$here/../lib-dir.sh"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec python3 "$here/cross.py" "$@"
