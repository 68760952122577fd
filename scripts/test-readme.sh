#!/usr/bin/env bash
# Runs what README.md shows, as it shows it, so that a reader who copies a
# command or an example gets what the README promises:
#
#  - the complete C example, built with the README's two link lines (shared
#    and static) against the staged library, and run;
#  - the C fragments (rotation, staging, keyrings), in one program that
#    opens a key manager first and checks what they did afterwards;
#  - the command-line lines and the sealing lines, in an empty directory;
#  - the quick start's demo (scripts/demo.sh);
#  - and that every test SECURITY.md names for a promise exists.
#
# The Rust example is a doctest (`cargo test --doc`, src/lib.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/setup.sh
require_commands cmake:cmake cc:gcc pkg-config:pkg-config

snippet() { "$root/scripts/readme-snippet.py" "$root/README.md" "$1"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> the C example, linked as the README links it (shared and static)"
stage=$(scripts/capi.sh stage)
libdir=$(scripts/capi.sh libdir)
mkdir "$work/c" && cd "$work/c"
snippet c > app.c
snippet link > link.sh
PKG_CONFIG_PATH="$libdir/pkgconfig" bash -euo pipefail link.sh
[ -x app ] && [ -x app_static ]
if readelf -d app_static | grep -q 'NEEDED.*libcodomyrmex_keys'; then
    echo "app_static links the shared library" >&2; exit 1
fi
TMPDIR="$work/c" LD_LIBRARY_PATH="$libdir" ./app
TMPDIR="$work/c" ./app_static
echo "the README's C example ran, shared and static (prefix $stage)"

echo "==> the C fragments: rotation, staged rotation, keyrings"
{
    snippet c-rotation > rotation.inc
    snippet c-staging > staging.inc
    snippet c-keyring > keyring.inc
}
cat > fragments.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "codomyrmex_keys.h"

static int failed = 0;
#define EXPECT(cond) do { if (!(cond)) { fprintf(stderr, "not so: %s\n", #cond); failed = 1; } } while (0)

int main(int argc, char **argv) {
    codomyrmex_key_manager *km = NULL;
    uint32_t version = 0, versions[8];
    size_t count = 0;
    (void)argc;
    if (codomyrmex_key_manager_open(argv[1], &km) != CODOMYRMEX_OK) return 1;
    {
#include "rotation.inc"
        EXPECT(tag_len == CODOMYRMEX_TAG_OVERHEAD + 32);
        EXPECT(old_len == 32);
    }
    EXPECT(codomyrmex_key_manager_list_versions(km, "signing", versions, 8, &count) == CODOMYRMEX_OK);
    EXPECT(count == 1 && versions[0] == 2);
    {
#include "staging.inc"
        EXPECT(next == 3);
    }
    EXPECT(codomyrmex_key_manager_current_version(km, "signing", &version) == CODOMYRMEX_OK);
    EXPECT(version == 3);
    {
#include "keyring.inc"
        EXPECT(tag_len == CODOMYRMEX_TAG_OVERHEAD + 32);
        EXPECT(codomyrmex_key_manager_hmac_verify_tagged(km, "session", CODOMYRMEX_SHA256, cookie,
                                                         sizeof cookie - 1, tag, tag_len)
               == CODOMYRMEX_OK);
    }
    codomyrmex_key_manager_free(km);
    return failed;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror fragments.c -o fragments \
    $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs codomyrmex_keys)
LD_LIBRARY_PATH="$libdir" ./fragments "$work/c/fragment-keys"
echo "the README's C fragments did what the text says"

echo "==> the command-line lines"
cd "$root"
cargo build --locked --quiet --features cli,etcd --bin codomyrmex-keys
cli_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
for name in cli cli-sealing; do
    mkdir "$work/$name" && cd "$work/$name"
    snippet "$name" > lines.sh
    env -u CODOMYRMEX_KEY_DIR PATH="$cli_dir:$PATH" bash -euo pipefail lines.sh > out.txt
    echo "-- $name: $(wc -l < lines.sh) lines ran"
done
grep -qx valid "$work/cli/out.txt"
grep -q "api current=3" "$work/cli/out.txt"
grep -q "^kind: Secret" "$work/cli/secret.yaml"
[ "$(stat -c %a "$work/cli-sealing/kek.bin")" = 400 ]
head -c 8 "$work/cli-sealing/keys/api.key" | od -An -tx1 | grep -q "89 43 44 58 53 45 41 4c"

echo "==> SECURITY.md: every test it names exists"
"$root/scripts/check-security-tests.py"

echo "==> the quick start's demo"
cd "$root"
TMPDIR="$work" scripts/demo.sh > "$work/demo.log"
tail -n 3 "$work/demo.log"
echo "README: every example and command ran as shown"
