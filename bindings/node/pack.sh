#!/usr/bin/env bash
# Packs the Node packages as they are published, into tarballs:
#
#   bindings/node/pack.sh LIBRARY OUT_DIR
#
# LIBRARY is the built libcodomyrmex_keys.so.1 for this machine's platform
# (scripts/capi.sh stages one). Writes to OUT_DIR:
#   codomyrmex-keys-<version>.tgz                  the package (JavaScript,
#                                                  ESM and CommonJS, types)
#   codomyrmex-keys-<platform>-<arch>-<version>.tgz  @codomyrmex-keys/<platform>-<arch>,
#                                                  carrying the library
# As koffi does for its own native module, the main package names one
# package per platform (each directory under npm/) as an optional
# dependency of the same version, and npm installs only the one whose
# os/cpu/libc fields match the machine. The optionalDependencies are written
# here, into the packed package.json only, so that the development tree
# installs with `npm ci` before any platform package is published.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -ne 2 ]; then sed -n '2,17p' "$0" >&2; exit 2; fi
library=$(realpath "$1")
mkdir -p "$2"
out=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(node -p "require('$here/package.json').version")
platform=$(node -p "process.platform + '-' + process.arch")
[ -d "$here/npm/$platform" ] || { echo "pack.sh: no npm/$platform package for this machine" >&2; exit 1; }

# The platform package, with the library.
cp -rL "$here/npm/$platform" "$work/platform"
cp -L "$here/LICENSE" "$work/platform/LICENSE"
install -m 0755 "$library" "$work/platform/libcodomyrmex_keys.so.1"
(cd "$work/platform" && npm pack --silent --pack-destination "$out" >/dev/null)

# The main package, its optionalDependencies filled in.
mkdir "$work/main"
(cd "$here" && cp -rL index.js index.mjs index.d.ts index.d.mts lib README.md LICENSE package.json "$work/main/")
node - "$work/main/package.json" "$version" "$here/npm" <<'JS'
const fs = require('node:fs');
const [file, version, npmDir] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
pkg.optionalDependencies = {};
for (const dir of fs.readdirSync(npmDir).sort()) {
  const name = JSON.parse(fs.readFileSync(`${npmDir}/${dir}/package.json`, 'utf8')).name;
  pkg.optionalDependencies[name] = version;
}
delete pkg.devDependencies;
delete pkg.scripts;
fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
JS
(cd "$work/main" && npm pack --silent --pack-destination "$out" >/dev/null)
ls -l "$out/codomyrmex-keys-$version.tgz" "$out/codomyrmex-keys-$platform-$version.tgz" | awk '{print $5, $NF}'
