#!/usr/bin/env bash
# Installs codomyrmex_keys into a temporary prefix and builds and runs two
# programs from outside the source tree against it: one with pkg-config
# (shared and static), one with CMake's find_package (shared and static).
# Also checks the SONAME and the symbolic links of the installed library.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

scripts/install.sh --prefix "$prefix" >/dev/null
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
major="${version%%.*}"
lib="$prefix/lib"

echo "==> installed files"
[ "$(readlink "$lib/libcodomyrmex_keys.so")" = "libcodomyrmex_keys.so.$major" ]
[ "$(readlink "$lib/libcodomyrmex_keys.so.$major")" = "libcodomyrmex_keys.so.$version" ]
soname=$(readelf -d "$lib/libcodomyrmex_keys.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcodomyrmex_keys.so.$major" ] || { echo "SONAME is '$soname'" >&2; exit 1; }
for f in "$lib/libcodomyrmex_keys.a" "$prefix/include/codomyrmex_keys.h" \
         "$lib/pkgconfig/codomyrmex_keys.pc" \
         "$lib/cmake/codomyrmex_keys/codomyrmex_keysConfig.cmake" \
         "$lib/cmake/codomyrmex_keys/codomyrmex_keysConfigVersion.cmake"; do
    [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
done
echo "SONAME $soname, links and files in place"

# The consumers are copied out of the tree, so nothing can reach back into it.
cp -r examples-c/consumers "$work/consumers"
cd "$work/consumers"

echo "==> pkg-config consumer"
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion codomyrmex_keys)" = "$version" ]
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror consumer.c -o consumer_shared \
    $(pkg-config --cflags --libs codomyrmex_keys) -Wl,-rpath,"$(pkg-config --variable=libdir codomyrmex_keys)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror consumer.c -o consumer_static \
    $(pkg-config --cflags codomyrmex_keys) "$lib/libcodomyrmex_keys.a" \
    $(pkg-config --static --libs-only-other --libs-only-l codomyrmex_keys | sed 's/-lcodomyrmex_keys//')
./consumer_shared
./consumer_static
if grep -q codomyrmex <<< "$(ldd ./consumer_static)"; then
    echo "the static consumer loads a shared codomyrmex_keys" >&2; exit 1
fi

echo "==> CMake find_package consumer"
cmake -S cmake -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build cmake-build -j "$(nproc)" >/dev/null
./cmake-build/consumer_shared
./cmake-build/consumer_static
grep -q "libcodomyrmex_keys.so.$major => $lib/" <<< "$(ldd ./cmake-build/consumer_shared)" || {
    echo "the CMake consumer does not load the installed library" >&2; exit 1; }

cd "$root"
echo "==> install and consumers OK"
