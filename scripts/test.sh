#!/usr/bin/env bash
# Runs every test of the project: the Rust tests (unit, integration, doc,
# header freshness) and the C tests under ctest against both the shared and
# the static library. Installs what a fresh machine lacks first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands cmake:cmake cc:gcc python3:python3

stage() { printf '\n==> %s\n' "$*"; }

stage "Rust tests"
cargo test --locked --all-features

stage "C tests (shared and static library)"
build=build/examples-c
cmake -S examples-c -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

stage "all tests passed"
