#!/usr/bin/env bash
# Runs the benchmark of BENCHMARKS.md: codomyrmex_keys through its C
# interface beside OpenSSL 3 and libsodium, and the key store beside the
# bare system calls. Installs what a fresh machine lacks (cmake, a C
# compiler, pkg-config, the OpenSSL and libsodium development files), builds
# the library and examples-c/bench/bench.c in release mode, and writes under
# build/bench-results/: results.txt (the table), results.csv (every number)
# and bench-hmac.svg (HMAC throughput by message size).
#
# Arguments go to the benchmark, e.g. `scripts/bench.sh --reps 11`.
# The key-store rows write to build/bench-keys: keep build/ on the disk you
# want to measure (not tmpfs). Numbers are only as quiet as the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands cmake:cmake cc:gcc pkg-config:pkg-config python3:python3

missing=()
pkg-config --exists 'libcrypto >= 3' || missing+=(libssl-dev)
pkg-config --exists libsodium || missing+=(libsodium-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    if ! _apt_install "${missing[@]}"; then
        echo "error: could not install ${missing[*]}; install them and run again" >&2
        exit 1
    fi
fi

build=build/bench
out=build/bench-results
cmake -S examples-c -B "$build" -DCMAKE_BUILD_TYPE=Release -DCODOMYRMEX_C_TESTS=OFF >/dev/null
cmake --build "$build" --target bench -j "$(nproc)"
mkdir -p "$out"
echo "==> load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench" --dir build/bench-keys --csv "$out/results.csv" "$@" | tee "$out/results.txt"
python3 scripts/plot_bench.py "$out/results.csv" "$out/bench-hmac.svg"
echo "==> wrote $out/results.txt, $out/results.csv, $out/bench-hmac.svg"
