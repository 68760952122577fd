#!/usr/bin/env bash
# Cross-language check, Ruby side: cross.sh write DIR | cross.sh verify DIR
# (see cross.rb for the protocol).
set -euo pipefail
if [ $# -ne 2 ] || { [ "$1" != write ] && [ "$1" != verify ]; }; then
    echo "usage: $0 write|verify DIR" >&2
    exit 2
fi
source "$(dirname "$0")/env.sh"
exec ruby -I"$ruby_dir/lib" "$ruby_dir/cross.rb" "$1" "$2"
