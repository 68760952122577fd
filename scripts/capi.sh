#!/usr/bin/env bash
# The C library, built and installed by cargo-c, the same way for the C
# tests, the bindings' tests and every package, so that one release build
# serves them all:
#
#   scripts/capi.sh stage            builds (release) and installs into the
#                                    staging tree <target>/capi/stage, whose
#                                    pkg-config file is relocatable; prints
#                                    that tree's prefix (<stage>/usr)
#   scripts/capi.sh libdir           prints the staged library directory
#   scripts/capi.sh install DESTDIR  builds and installs with prefix /usr into
#                                    DESTDIR (the Debian packages)
#   scripts/capi.sh ensure           installs cargo-c if it is missing
#
# Every build uses prefix /usr and libdir /usr/lib/<multiarch>: cargo-c
# rebuilds the library from scratch when they change. The staging tree is a
# relocatable prefix: the CMake package finds everything relative to its
# own location, and the .pc file's prefix is ${pcfiledir}-relative.
#
# cargo-c is pinned (CARGO_C_VERSION below) and installed with
# `cargo install --locked --debug` when `cargo cbuild` is missing or older
# than the minimum in Cargo.toml, once per machine (it stays in
# ~/.cargo/bin). That compiles cargo itself: 7 CPU-minutes as a debug
# build, 17 as a release build, for a tool whose own speed does not matter
# here (a no-op cinstall takes 0.9 s instead of 0.4 s).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_C_VERSION=0.10.24+cargo-0.98.0

ensure_cargo_c() {
    local min have
    min=$(sed -n 's/^min_version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
    have=$(cargo cbuild --version 2>/dev/null | sed -n 's/^cargo-c \([0-9.]*\).*/\1/p' | head -n 1 || true)
    if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$min" "$have" | sort -V | head -n 1)" = "$min" ]; then
        return 0
    fi
    echo "==> installing cargo-c $CARGO_C_VERSION (cargo install --locked --debug; a few minutes, once)" >&2
    if ! pkg-config --exists openssl 2>/dev/null; then
        # shellcheck source=setup.sh
        source scripts/setup.sh
        _apt_install libssl-dev pkg-config >&2 || true
    fi
    local started=$SECONDS
    cargo install cargo-c --version "=$CARGO_C_VERSION" --locked --debug --quiet >&2
    echo "==> cargo-c installed in $((SECONDS - started)) s" >&2
}

multiarch() {
    local triplet
    triplet=$(cc -print-multiarch 2>/dev/null || true)
    if [ -n "$triplet" ]; then echo "lib/$triplet"; else echo lib; fi
}

target_dir() {
    local dir="${CARGO_TARGET_DIR:-target}"
    case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
    echo "$dir"
}

cinstall() { # DESTDIR
    ensure_cargo_c
    local log
    log=$(mktemp)
    # The C library carries the etcd source: C and binding users cannot
    # rebuild it with a feature. cargo-c's progress is shown only when it
    # fails.
    if ! cargo cinstall --release --locked --features etcd --prefix=/usr \
        --libdir="/usr/$(multiarch)" --destdir="$1" > "$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "scripts/capi.sh: cargo cinstall failed" >&2
        return 1
    fi
    rm -f "$log"
}

# Copies the tree $1 over $2, leaving files whose content did not change
# untouched, so that programs linked against the staged library are not
# relinked after a build that changed nothing.
sync_tree() {
    local from=$1 to=$2 rel
    (cd "$from" && find . -type d) | while read -r rel; do mkdir -p "$to/$rel"; done
    (cd "$from" && find . -type l) | while read -r rel; do
        ln -sfn "$(readlink "$from/$rel")" "$to/$rel"
    done
    (cd "$from" && find . -type f) | while read -r rel; do
        install -C -m "$(stat -c %a "$from/$rel")" "$from/$rel" "$to/$rel"
    done
}

stage() {
    local stage fresh libdir depth up pc
    stage="$(target_dir)/capi/stage"
    fresh="$(target_dir)/capi/fresh"
    rm -rf "$fresh"
    cinstall "$fresh"
    libdir="usr/$(multiarch)"
    # <prefix>/<libdir>/pkgconfig up to <prefix>: one step per component.
    depth=$(($(tr -cd / <<< "$libdir/pkgconfig" | wc -c)))
    up='${pcfiledir}'
    for _ in $(seq "$depth"); do up="$up/.."; done
    pc="$fresh/$libdir/pkgconfig/codomyrmex_keys.pc"
    sed -i "s|^prefix=.*|prefix=$up|" "$pc"
    mkdir -p "$stage"
    sync_tree "$fresh" "$stage"
    rm -rf "$fresh"
    echo "$stage/usr"
}

case "${1:-}" in
    stage) stage ;;
    libdir) echo "$(target_dir)/capi/stage/usr/$(multiarch)" ;;
    install)
        [ $# -eq 2 ] || { echo "usage: $0 install DESTDIR" >&2; exit 2; }
        cinstall "$2"
        ;;
    ensure) ensure_cargo_c ;;
    *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
