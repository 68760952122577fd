#!/usr/bin/env bash
# Runs the Python binding's tests with the standard library's unittest and,
# when mypy can be had, a strict type check of the package, cross.py and the
# tests.
#
# mypy: used as is if `python3 -m mypy` works; otherwise a pinned mypy is
# installed once into a private virtual environment under
# ${XDG_CACHE_HOME:-~/.cache}/codomyrmex-keys/ (a few seconds; nothing is
# installed into the system's Python). If that is not possible (no network,
# no venv module) the type check is skipped with a notice; CODOMYRMEX_SKIP_MYPY=1
# skips it on purpose.
#
# The native library: $CODOMYRMEX_KEYS_LIB_DIR if set, else the one
# scripts/capi.sh stages (built here if missing); see ../lib-dir.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
MYPY_VERSION=2.4.1

# shellcheck source=../../scripts/setup.sh
source "$repo/scripts/setup.sh"
require_commands python3:python3

stage() { printf '\n==> %s\n' "$*"; }

# shellcheck source=../lib-dir.sh
source "$here/../lib-dir.sh"

stage "$(python3 --version), library in $CODOMYRMEX_KEYS_LIB_DIR"

mypy=()
if [ "${CODOMYRMEX_SKIP_MYPY:-0}" = 1 ]; then
  :
elif python3 -c 'import mypy' 2>/dev/null; then
  mypy=(python3 -m mypy)
else
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/codomyrmex-keys/mypy-$MYPY_VERSION"
  if ! "$venv/bin/python" -c 'import mypy' 2>/dev/null; then
    stage "installing mypy $MYPY_VERSION into $venv"
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mypy==$MYPY_VERSION"; }; then
      echo "note: could not install mypy; the type check is skipped" >&2
      rm -rf "$venv"
    fi
  fi
  if "$venv/bin/python" -c 'import mypy' 2>/dev/null; then
    mypy=("$venv/bin/python" -m mypy)
  fi
fi
if [ "${#mypy[@]}" -gt 0 ]; then
  stage "type check ($("${mypy[@]}" --version) --strict)"
  (cd "$here" && "${mypy[@]}" --strict --cache-dir "${TMPDIR:-/tmp}/codomyrmex-keys-mypy-cache" codomyrmex_keys cross.py tests)
else
  stage "type check skipped (mypy not available)"
fi

stage "tests (python3 -m unittest discover -s bindings/python/tests)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$repo"
set +e
python3 -m unittest discover -s bindings/python/tests -v 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One summary line in the plain 'N passed, N failed' form.
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
ran = re.search(r"^Ran (\d+) tests?", text, re.M)
total = int(ran.group(1)) if ran else 0
counts = {k: int(v) for k, v in re.findall(r"(failures|errors|skipped|expected failures|unexpected successes)=(\d+)", text)}
failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpected successes", 0)
skipped = counts.get("skipped", 0)
print(f"python: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
