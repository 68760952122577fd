#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS_PER_TARGET seconds
# (default 40) with cargo-fuzz, each on a copy of its committed seed corpus
# (fuzz/corpus/<target>/), so a run never changes the repository. Fails on
# any crash, leaving the crashing input in fuzz/artifacts/<target>/.
# Prints the number of executions per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#   scripts/fuzz.sh --install-only     installs cargo-fuzz (if nightly is
#                                      there) and stops
#
# Needs the nightly toolchain (skipped with a warning without it) and a C++
# compiler for libFuzzer (no cmake); installs cargo-fuzz if it is missing.
# The seeds are made by fuzz/make_corpus.py.
set -euo pipefail
cd "$(dirname "$0")/.."

install_cargo_fuzz() {
    if ! command -v cargo-fuzz >/dev/null 2>&1; then
        echo "==> installing cargo-fuzz (a debug build: its own speed does not matter)"
        cargo install cargo-fuzz --locked --debug --quiet
    fi
}

if [ "${1:-}" = "--install-only" ]; then
    # Without nightly there is nothing to install; the run says so loudly.
    if cargo +nightly --version >/dev/null 2>&1; then install_cargo_fuzz; fi
    exit 0
fi

seconds="${1:-40}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
targets=(key_id hmac_hkdf store_model keyring)

if ! cargo +nightly --version >/dev/null 2>&1; then
    cat >&2 <<'EOF'

##################################################################
##                                                              ##
##   WARNING: nightly toolchain missing: fuzzing skipped        ##
##   (rustup toolchain install nightly, then run this again)    ##
##                                                              ##
##################################################################

EOF
    exit 0
fi

install_cargo_fuzz

# libFuzzer's C++ sources are most of a clean build; without debug info
# they compile in about two thirds of the time. (cargo fuzz run by hand
# with other CXXFLAGS rebuilds them once.)
export CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }-g0"

started=$SECONDS
echo "==> building the fuzz targets"
cargo +nightly fuzz build

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

results=()
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    mkdir -p "$corpus"
    cp -R "fuzz/corpus/$target/." "$corpus/"
    log="$work/$target.log"
    echo "==> fuzzing $target for ${seconds}s"
    if ! cargo +nightly fuzz run "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 80 "$log" >&2
        echo "error: fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" |
        tail -n 1)"
    if [ -z "$execs" ]; then
        tail -n 40 "$log" >&2
        echo "error: no final statistics from $target" >&2
        exit 1
    fi
    results+=("$(printf '%-12s %12s executions' "$target" "$execs")")
done

echo
echo "==> fuzzing passed (${seconds}s per target, $((SECONDS - started))s in all)"
printf '    %s\n' "${results[@]}"
