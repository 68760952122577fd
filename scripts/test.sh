#!/usr/bin/env bash
# Runs every test of the project: the Rust tests (unit, integration, doc,
# header freshness, CLI), the C tests under ctest against both the shared and
# the static library (built by cargo-c), the same under sanitizers and
# valgrind, the ABI check, an install whose tree is moved before consumers
# are built against it, the Go, Ruby, Node and Python bindings, every
# package installed and run as a user would, the README's examples and
# commands, and a short run of every fuzz target. Installs what a fresh machine lacks first (cargo-c included).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands cmake:cmake cc:gcc python3:python3 pkg-config:pkg-config readelf:binutils gcore:gdb

stage() { printf '\n==> %s\n' "$*"; }

# cargo-c and cargo-fuzz, when missing, are built while the Rust tests run
# (they wait on the network and the clock as much as on the CPU); the C
# stages wait for them.
tools_log=$(mktemp)
trap 'rm -f "$tools_log"' EXIT
(scripts/capi.sh ensure && scripts/fuzz.sh --install-only) > "$tools_log" 2>&1 &
tools=$!

stage "Rust tests"
cargo test --locked --all-features

stage "Tink interoperability: keysets and tagged MACs against the real tink package"
scripts/test-tink.sh

stage "Rust tests of the release stack budgets and the dead-stack scrub (optimised build)"
cargo test --locked --release --lib stack_depth
cargo test --locked --release --test secrets

stage "tools: cargo-c and cargo-fuzz"
if ! wait "$tools"; then
    cat "$tools_log"
    echo "error: installing cargo-c or cargo-fuzz failed" >&2
    exit 1
fi
cat "$tools_log"

stage "C tests (shared and static library)"
build=build/examples-c
cmake -S examples-c -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

stage "memory safety: C tests under ASan + UBSan, and under valgrind"
scripts/test-memory.sh "$build"

stage "C interface: the header, the library's exports and abi/codomyrmex_keys.abi agree"
scripts/check-abi.py "$(scripts/capi.sh libdir)/libcodomyrmex_keys.so.1"

stage "install with cargo-c, move the tree, build consumers from outside"
scripts/test-install.sh

stage "bindings: Go, Ruby, Node, Python, and the cross-language check"
bindings/test.sh

stage "packages: Debian, Python, Node, Ruby, Go, installed and run in clean places"
scripts/test-packages.sh

stage "README: its examples and commands, as shown"
scripts/test-readme.sh

stage "fuzzing: every target for a bounded time (longer: scripts/fuzz.sh SECONDS)"
scripts/fuzz.sh 25

stage "all tests passed"
