#!/usr/bin/env bash
# Interoperability with Google Tink's MAC primitive, both ways, against the
# real `tink` Python package: tests/tink/interop.py, run with the versions
# pinned in tests/tink/requirements.txt, installed with pip into a virtual
# environment of its own (never the system Python) under the cache directory
# $CODOMYRMEX_TINK_VENV (default: target/tink-venv). The environment is made
# once and reused until the requirements change. If PyPI cannot be reached
# the install fails, and so does this script.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands python3:python3

target="${CARGO_TARGET_DIR:-target}"
venv="${CODOMYRMEX_TINK_VENV:-$target/tink-venv}"
requirements=tests/tink/requirements.txt
stamp="$venv/requirements.txt"

make_venv() {
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 has no venv module without this package.
        rm -rf "$venv"
        _apt_install python3-venv || true
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
        --timeout 30 --retries 2 --requirement "$requirements"; then
        rm -rf "$venv"
        echo "error: could not install the pinned tink packages from PyPI" >&2
        return 1
    fi
    cp "$requirements" "$stamp"
}

if ! cmp -s "$requirements" "$stamp" || ! "$venv/bin/python" -c 'import tink' 2>/dev/null; then
    echo "==> installing tink into $venv"
    make_venv
fi

cargo build --locked --quiet --features cli --bin codomyrmex-keys
"$venv/bin/python" tests/tink/interop.py "$target/debug/codomyrmex-keys"
