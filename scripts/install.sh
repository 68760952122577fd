#!/usr/bin/env bash
# Builds codomyrmex_keys in release mode and installs it into a prefix:
#
#   scripts/install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--features LIST]
#
# (default prefix /usr/local; DESTDIR is honoured for staging; --features
# etcd builds in the etcd key source, as distribution packages should). Installs
#   <libdir>/libcodomyrmex_keys.so.X.Y.Z, .so.X -> .so.X.Y.Z, .so -> .so.X
#   <libdir>/libcodomyrmex_keys.a
#   <includedir>/codomyrmex_keys.h
#   <libdir>/pkgconfig/codomyrmex_keys.pc
#   <libdir>/cmake/codomyrmex_keys/codomyrmex_keysConfig{,Version}.cmake
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
libdir=""
includedir=""
features=()
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --libdir) libdir="$2"; shift 2 ;;
        --libdir=*) libdir="${1#*=}"; shift ;;
        --includedir) includedir="$2"; shift 2 ;;
        --includedir=*) includedir="${1#*=}"; shift ;;
        --features) features=(--features "$2"); shift 2 ;;
        --features=*) features=(--features "${1#*=}"); shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
libdir="${libdir:-$prefix/lib}"
includedir="${includedir:-$prefix/include}"
destdir="${DESTDIR:-}"

version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
major="${version%%.*}"
native_libs=$(cat packaging/native-static-libs.txt)

echo "==> building codomyrmex_keys $version (release)"
cargo build --release --locked --lib ${features[@]+"${features[@]}"}
built="${CARGO_TARGET_DIR:-target}/release"

echo "==> installing into ${destdir}${prefix}"
install -d "$destdir$libdir/pkgconfig" "$destdir$libdir/cmake/codomyrmex_keys" "$destdir$includedir"
install -m 0755 "$built/libcodomyrmex_keys.so" "$destdir$libdir/libcodomyrmex_keys.so.$version"
ln -sfn "libcodomyrmex_keys.so.$version" "$destdir$libdir/libcodomyrmex_keys.so.$major"
ln -sfn "libcodomyrmex_keys.so.$major" "$destdir$libdir/libcodomyrmex_keys.so"
install -m 0644 "$built/libcodomyrmex_keys.a" "$destdir$libdir/libcodomyrmex_keys.a"
install -m 0644 include/codomyrmex_keys.h "$destdir$includedir/codomyrmex_keys.h"

fill() {
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@INCLUDEDIR@|$includedir|g" \
        -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
        -e "s|@NATIVE_STATIC_LIBS@|$native_libs|g" \
        -e "s|@NATIVE_STATIC_LIBS_CMAKE@|${native_libs// /;}|g" "$1" > "$2"
    chmod 0644 "$2"
}
fill packaging/codomyrmex_keys.pc.in "$destdir$libdir/pkgconfig/codomyrmex_keys.pc"
fill packaging/codomyrmex_keysConfig.cmake.in "$destdir$libdir/cmake/codomyrmex_keys/codomyrmex_keysConfig.cmake"
fill packaging/codomyrmex_keysConfigVersion.cmake.in \
    "$destdir$libdir/cmake/codomyrmex_keys/codomyrmex_keysConfigVersion.cmake"

echo "installed codomyrmex_keys $version:"
echo "  pkg-config: PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs codomyrmex_keys"
echo "  CMake:      -DCMAKE_PREFIX_PATH=$prefix, find_package(codomyrmex_keys CONFIG REQUIRED)"
