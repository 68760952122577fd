#!/usr/bin/env bash
# Installs codomyrmex_keys with cargo-c (scripts/capi.sh stage), checks the
# installed files (SONAME, versioned links, static library, header, .pc,
# CMake package), then moves the installed tree to another directory and
# builds and runs two programs from outside the source tree against it: one
# with pkg-config (shared and static), one with CMake's find_package (shared
# and static). Nothing in the moved tree may remember where it was built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

staged=$(scripts/capi.sh stage)
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
major="${version%%.*}"
libdir_rel=$(realpath --relative-to="$staged" "$(scripts/capi.sh libdir)")

echo "==> installed files (prefix $staged)"
lib="$staged/$libdir_rel"
[ "$(readlink -f "$lib/libcodomyrmex_keys.so")" = "$(realpath "$lib/libcodomyrmex_keys.so.$version")" ]
[ "$(readlink "$lib/libcodomyrmex_keys.so.$major")" = "libcodomyrmex_keys.so.$version" ]
soname=$(readelf -d "$lib/libcodomyrmex_keys.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libcodomyrmex_keys.so.$major" ] || { echo "SONAME is '$soname'" >&2; exit 1; }
for f in "$lib/libcodomyrmex_keys.a" "$staged/include/codomyrmex_keys.h" \
         "$lib/pkgconfig/codomyrmex_keys.pc" \
         "$staged/share/cmake/codomyrmex_keys/codomyrmex_keysConfig.cmake" \
         "$staged/share/cmake/codomyrmex_keys/codomyrmex_keysConfigVersion.cmake"; do
    [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
done
cmp include/codomyrmex_keys.h "$staged/include/codomyrmex_keys.h" ||
    { echo "the installed header is not include/codomyrmex_keys.h" >&2; exit 1; }
grep -q '^Libs.private: .*-lgcc_s' "$lib/pkgconfig/codomyrmex_keys.pc" ||
    { echo "the .pc file has no Libs.private" >&2; exit 1; }
if grep -rqF "$staged" "$staged/share/cmake" "$lib/pkgconfig"; then
    echo "the CMake package or the .pc file holds the absolute path $staged" >&2; exit 1
fi
echo "SONAME $soname, links and files in place"
printf '%-28s %s\n' "shared library" "$(du -h "$lib/libcodomyrmex_keys.so.$version" | cut -f1)" \
    "static library" "$(du -h "$lib/libcodomyrmex_keys.a" | cut -f1)"

echo "==> the installed tree, moved"
moved="$work/elsewhere/prefix"
mkdir -p "$(dirname "$moved")"
cp -a "$staged" "$moved"
lib="$moved/$libdir_rel"

# The consumers are copied out of the tree, so nothing can reach back into it.
cp -r examples-c/consumers "$work/consumers"
cd "$work/consumers"

echo "==> pkg-config consumer"
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion codomyrmex_keys)" = "$version" ]
[ "$(pkg-config --variable=libdir codomyrmex_keys)" -ef "$lib" ] ||
    { echo "pkg-config gives libdir $(pkg-config --variable=libdir codomyrmex_keys)" >&2; exit 1; }
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror consumer.c -o consumer_shared \
    $(pkg-config --cflags --libs codomyrmex_keys) -Wl,-rpath,"$lib"
# A static link: the .a named by pkg-config's directory, and the native
# libraries of Libs.private.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Wpedantic -Werror consumer.c -o consumer_static \
    $(pkg-config --cflags codomyrmex_keys) "$(pkg-config --variable=libdir codomyrmex_keys)/libcodomyrmex_keys.a" \
    $(pkg-config --static --libs-only-l codomyrmex_keys | sed 's/-lcodomyrmex_keys//')
./consumer_shared
./consumer_static
grep -q "libcodomyrmex_keys.so.$major => $lib/" <<< "$(ldd ./consumer_shared)" || {
    echo "the pkg-config consumer does not load the moved library" >&2; exit 1; }
if grep -q codomyrmex <<< "$(ldd ./consumer_static)"; then
    echo "the static consumer loads a shared codomyrmex_keys" >&2; exit 1
fi
unset PKG_CONFIG_PATH

echo "==> CMake find_package consumer"
cmake -S cmake -B cmake-build -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build cmake-build -j "$(nproc)" >/dev/null
./cmake-build/consumer_shared
./cmake-build/consumer_static
grep -q "libcodomyrmex_keys.so.$major => $lib/" <<< "$(ldd ./cmake-build/consumer_shared)" || {
    echo "the CMake consumer does not load the moved library" >&2; exit 1; }
if grep -q codomyrmex <<< "$(ldd ./cmake-build/consumer_static)"; then
    echo "the static CMake consumer loads a shared codomyrmex_keys" >&2; exit 1
fi

cd "$root"
echo "==> install, moved prefix and consumers OK"
