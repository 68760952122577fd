#!/usr/bin/env bash
# Builds every package (scripts/build-packages.sh) and installs each one the
# way a user does, in a clean place and with no CODOMYRMEX_* variable, then
# runs that language's README snippet:
#
#   Debian   dpkg -i the three packages; lintian on each (no errors); a C
#            program built with nothing but pkg-config's flags, the README's
#            C example, a CMake find_package consumer, the CLI, its man page
#            and completions; a fresh Go module that requires the Go
#            module (replace: the local copy) built against the system
#            library, shared and with -tags static. Then the packages are
#            purged, so later stages test the freshly built library.
#   Python   the sdist's contents and a build from it; the wheel in a fresh
#            venv, from an empty directory.
#   Node     both tarballs in an empty npm project: CommonJS and ESM.
#   Ruby     the platform gem in a fresh GEM_HOME.
#
#   scripts/test-packages.sh [OUT_DIR]      (default target/packages)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/setup.sh
require_commands lintian:lintian pkg-config:pkg-config cmake:cmake go:golang-go ruby:ruby
if ! ruby -e 'require "ffi"' 2>/dev/null; then _apt_install ruby-ffi; fi
stage() { printf '\n==> %s (%d s)\n' "$1" "$((SECONDS - started))"; }
started=$SECONDS

out="${1:-${CARGO_TARGET_DIR:-target}/packages}"
scripts/build-packages.sh "$out"
out=$(realpath "$out")
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
major="${version%%.*}"
multiarch=$(cc -print-multiarch)
work=$(mktemp -d)
chmod 0755 "$work"
debs=("$out"/debian/libcodomyrmex-keys1_*.deb "$out"/debian/libcodomyrmex-keys-dev_*.deb
      "$out"/debian/codomyrmex-keys_*.deb)
purge() { dpkg --purge codomyrmex-keys libcodomyrmex-keys-dev libcodomyrmex-keys1 >/dev/null 2>&1 || true; }
cleanup() { purge; rm -rf "$work"; }
trap cleanup EXIT
# What every installed package runs with: no variable of this project, a
# plain PATH, an empty working directory.
clean_env=(env -i "HOME=$HOME" "PATH=/usr/local/bin:/usr/bin:/bin" "LANG=C.UTF-8")
snippet() { "$root/scripts/readme-snippet.py" "$1" "$2"; }

stage "lintian"
lintian_log="$work/lintian.log"
if ! lintian --fail-on error --display-info --tag-display-limit 0 "${debs[@]}" > "$lintian_log" 2>&1; then
    cat "$lintian_log"; echo "lintian reports errors" >&2; exit 1
fi
if [ -s "$lintian_log" ]; then cat "$lintian_log"; else echo "lintian: no tags"; fi

stage "Debian packages on the system"
purge
dpkg -i "${debs[@]}" >/dev/null
grep -q "/libcodomyrmex_keys.so.$major$" <<< "$(dpkg -L libcodomyrmex-keys1)"
grep -q "activate-noawait ldconfig" /var/lib/dpkg/info/libcodomyrmex-keys1*.triggers
[ "$(pkg-config --modversion codomyrmex_keys)" = "$version" ]
mkdir "$work/c" && cd "$work/c"
cp "$root/examples-c/consumers/consumer.c" .
snippet "$root/README.md" c > example.c
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror consumer.c -o consumer $(pkg-config --cflags --libs codomyrmex_keys)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror example.c -o example $(pkg-config --cflags --libs codomyrmex_keys)
"${clean_env[@]}" ./consumer
"${clean_env[@]}" TMPDIR="$work/c" ./example
grep -q "libcodomyrmex_keys.so.$major => \(/usr\)\?/lib/$multiarch/" <<< "$(ldd ./consumer)"
cp -r "$root/examples-c/consumers/cmake" cmake && rm -f cmake/CMakeCache.txt
sed -i 's|\.\./consumer\.c|consumer.c|' cmake/CMakeLists.txt && cp consumer.c cmake/
cmake -S cmake -B cmake-build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build cmake-build >/dev/null
"${clean_env[@]}" ./cmake-build/consumer_shared >/dev/null
"${clean_env[@]}" ./cmake-build/consumer_static >/dev/null
"${clean_env[@]}" codomyrmex-keys --version
"${clean_env[@]}" codomyrmex-keys --dir "$work/c/cli-keys" generate api
[ "$("${clean_env[@]}" codomyrmex-keys --dir "$work/c/cli-keys" list)" = api ]
for f in /usr/share/man/man1/codomyrmex-keys.1.gz /usr/share/bash-completion/completions/codomyrmex-keys \
         /usr/share/zsh/vendor-completions/_codomyrmex-keys /usr/share/fish/vendor_completions.d/codomyrmex-keys.fish; do
    [ -s "$f" ] || { echo "missing $f" >&2; exit 1; }
done
echo "C consumers (pkg-config, CMake), the README example and the CLI run against the system library"
# Bindings without a bundled copy (the source tree's) fall back to the
# system's libcodomyrmex_keys.so.1.
"${clean_env[@]}" PYTHONPATH="$root/bindings/python" python3 -c \
    'import codomyrmex_keys as k; assert k.library_path == "libcodomyrmex_keys.so.1", k.library_path'
"${clean_env[@]}" ruby -I "$root/bindings/ruby/lib" -r codomyrmex_keys -e \
    'raise CodomyrmexKeys::Native::LIBRARY_PATH unless CodomyrmexKeys::Native::LIBRARY_PATH == "libcodomyrmex_keys.so.1"'
if [ -d "$root/bindings/node/node_modules/koffi" ]; then
    "${clean_env[@]}" node -e \
        "const k = require('$root/bindings/node'); if (k.libraryPath !== 'libcodomyrmex_keys.so.1') throw new Error(k.libraryPath);"
fi
echo "Python, Ruby and Node without a bundled library load the system's"

stage "Go module against the Debian dev package"
mkdir "$work/go" && cd "$work/go"
module=github.com/codomyrmex/codomyrmex-keys/bindings/go
cat > go.mod <<EOF
module example.com/app

go 1.19

require $module v$version

replace $module => $root/bindings/go
EOF
snippet "$root/bindings/go/README.md" go > main.go
gocache="$work/go-cache"
"${clean_env[@]}" GOCACHE="$gocache" GOFLAGS=-mod=mod GOPROXY=off go build -o app .
"${clean_env[@]}" ./app
grep -q "libcodomyrmex_keys.so.$major => \(/usr\)\?/lib/$multiarch/" <<< "$(ldd ./app)"
"${clean_env[@]}" GOCACHE="$gocache" GOFLAGS=-mod=mod GOPROXY=off go build -tags static -o app-static .
if grep -q codomyrmex <<< "$(ldd ./app-static)"; then echo "-tags static still loads the shared library" >&2; exit 1; fi
"${clean_env[@]}" ./app-static
purge
echo "Debian packages purged"

stage "Python sdist"
sdist=$(ls "$out"/python/codomyrmex_keys-"$version".tar.gz)
members=$(tar tzf "$sdist")
for member in tests/_support.py tests/test_compat.py setup.py rust/Cargo.toml rust/Cargo.lock rust/src/lib.rs \
              rust/abi/codomyrmex_keys.abi LICENSE; do
    grep -qx "codomyrmex_keys-$version/$member" <<< "$members" || { echo "the sdist lacks $member" >&2; exit 1; }
done
# From source: cargo builds the library inside the sdist's build (sharing
# this build's dependencies through CARGO_TARGET_DIR).
CARGO_TARGET_DIR="$(realpath "${CARGO_TARGET_DIR:-target}")/sdist" \
    "$out/.tools/bin/pip" wheel --quiet --no-deps -w "$work/from-sdist" "$sdist"
wheel_from_sdist=$(ls "$work"/from-sdist/*.whl)
grep -q "codomyrmex_keys/_lib/libcodomyrmex_keys.so.$major" <<< "$(python3 -m zipfile -l "$wheel_from_sdist")"
echo "the sdist has its tests' imports and builds $(basename "$wheel_from_sdist")"

stage "Python wheel in a fresh venv"
wheel=$(ls "$out"/python/codomyrmex_keys-"$version"-py3-none-manylinux*.whl)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-index "$wheel"
mkdir "$work/py" && cd "$work/py"
snippet "$root/bindings/python/README.md" python > snippet.py
"${clean_env[@]}" "$work/venv/bin/python" snippet.py | tee snippet.out
grep -q "loaded from $work/venv/lib/python3[.0-9]*/site-packages/codomyrmex_keys/_lib/libcodomyrmex_keys.so.$major" snippet.out
"${clean_env[@]}" "$work/venv/bin/python" -c '
from codomyrmex_keys.compat import KeyManager, compute_hmac, verify_hmac
assert verify_hmac("data", "key", compute_hmac("data", "key"))
print("codomyrmex_keys.compat imports and runs")'

stage "Node packages in an empty project"
mkdir "$work/node" && cd "$work/node"
"${clean_env[@]}" npm init -y >/dev/null
"${clean_env[@]}" npm install --no-audit --no-fund --silent \
    "$out"/node/codomyrmex-keys-"$version".tgz "$out"/node/codomyrmex-keys-linux-x64-"$version".tgz
node -e '
const pkg = require("codomyrmex-keys/package.json");
if (pkg.private || !pkg.exports || !pkg.optionalDependencies["@codomyrmex-keys/linux-x64"]) process.exit(1);'
snippet "$root/bindings/node/README.md" node > app.js
snippet "$root/bindings/node/README.md" node-esm > app.mjs
"${clean_env[@]}" node app.js | tee app.out
grep -q "loaded from $work/node/node_modules/@codomyrmex-keys/linux-x64/libcodomyrmex_keys.so.$major" app.out
"${clean_env[@]}" node app.mjs

stage "Ruby gem in a fresh GEM_HOME"
gem_file=$(ls "$out"/ruby/codomyrmex_keys-"$version"-*.gem)
"${clean_env[@]}" GEM_HOME="$work/gems" gem install --local --no-document --silent "$gem_file"
mkdir "$work/rb" && cd "$work/rb"
snippet "$root/bindings/ruby/README.md" ruby > snippet.rb
"${clean_env[@]}" GEM_HOME="$work/gems" ruby snippet.rb | tee snippet.out
grep -q "loaded from $work/gems/gems/codomyrmex_keys-$version-[a-z0-9_-]*/lib/codomyrmex_keys/native/libcodomyrmex_keys.so.$major" snippet.out

cd "$root"
stage "sizes"
lib_dir=$(scripts/capi.sh libdir)
du -b "$lib_dir/libcodomyrmex_keys.so.$version" "$lib_dir/libcodomyrmex_keys.a" "$out"/debian/*.deb \
    "$out"/python/* "$out"/node/*.tgz "$out"/ruby/*.gem | awk '{printf "%10d  %s\n", $1, $2}' | sed "s|$root/||"
echo "packages: all installed and ran ($((SECONDS - started)) s)"
