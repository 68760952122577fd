#!/usr/bin/env bash
# Memory safety at the C boundary:
#  1. the C tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#     (after proving the sanitizers are really linked and really fire), and
#  2. the C tests and the demo of the release build under valgrind memcheck,
#     which must report no error and no leak.
#
#   scripts/test-memory.sh [RELEASE_BUILD_DIR]   (default build/examples-c,
#                                                 configured if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
require_commands cmake:cmake cc:gcc valgrind:valgrind readelf:binutils

release_build="${1:-build/examples-c}"
asan_build=build/examples-c-asan
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"   # the umask test drops to another user, which must reach it

echo "==> sanitizers fire: a deliberate heap overflow and a signed overflow"
cat > "$work/canary.c" <<'C'
#include <limits.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    (void)argv;
    char *p = malloc(8);
    int big = INT_MAX - 1 + argc;      /* INT_MAX at run time */
    p[8 + (big - INT_MAX)] = 1;        /* one past the end */
    free(p);
    return big + argc > 0 ? 0 : 1;     /* signed overflow */
}
C
cc -g -fsanitize=address,undefined -fno-sanitize-recover=undefined "$work/canary.c" -o "$work/canary"
if "$work/canary" 2> "$work/canary.log"; then
    echo "the sanitizer canary ran clean: sanitizers are not working" >&2; exit 1
fi
grep -q "AddressSanitizer: heap-buffer-overflow" "$work/canary.log"

echo "==> C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S examples-c -B "$asan_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCODOMYRMEX_C_SANITIZE=address,undefined >/dev/null
cmake --build "$asan_build" -j "$(nproc)" >/dev/null
checked=0
for exe in "$asan_build"/test_*_shared "$asan_build"/test_*_static; do
    grep -q __asan_init <<< "$(nm "$exe")" || { echo "$exe is not built with ASan" >&2; exit 1; }
    grep -q 'NEEDED.*libubsan' <<< "$(readelf -d "$exe")" || { echo "$exe does not link UBSan" >&2; exit 1; }
    checked=$((checked + 1))
done
echo "ASan and UBSan linked into $checked test programs"
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$asan_build" --output-on-failure -j "$(nproc)"

echo "==> C tests and demo of the release build under valgrind memcheck"
if [ ! -d "$release_build" ]; then
    cmake -S examples-c -B "$release_build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$release_build" -j "$(nproc)" >/dev/null
ran=0
for exe in "$release_build"/test_*_shared "$release_build"/test_*_static \
           "$release_build"/demo "$release_build"/demo_static; do
    tmp=$(mktemp -d "$work/run.XXXXXX")
    chmod 0755 "$tmp"
    # Threads blocked on a key lock stall valgrind's serialized scheduler;
    # the threaded parts are covered by the runs above.
    if ! TMPDIR="$tmp" CODOMYRMEX_TEST_SKIP_THREADS=1 valgrind --quiet --error-exitcode=99 \
            --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible \
            "$exe" > "$work/valgrind.log" 2>&1; then
        cat "$work/valgrind.log" >&2
        echo "valgrind found errors or leaks in $(basename "$exe")" >&2
        exit 1
    fi
    ran=$((ran + 1))
done
echo "valgrind memcheck: $ran programs, no errors, no leaks"
