#!/usr/bin/env python3
"""Guards the C ABI of codomyrmex_keys against silent breaks.

Compares the committed baseline abi/codomyrmex_keys.abi with the current
header and the built shared library:

- every function the header declares is exported by the library, and the
  library exports nothing else (only codomyrmex_* functions);
- a baseline item (function declaration, status value, constant) that
  disappeared or changed is an ABI break, allowed only when the major
  version in Cargo.toml is above the baseline's;
- new items are fine (they call for a minor version bump).

    scripts/check-abi.py LIBRARY.so           check
    scripts/check-abi.py LIBRARY.so --update  rewrite the baseline from the
                                              current header (after a release)
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "codomyrmex_keys.h"
BASELINE = ROOT / "abi" / "codomyrmex_keys.abi"
CARGO_TOML = ROOT / "Cargo.toml"

# Attributes that do not change the ABI.
IGNORED_TOKENS = {"CODOMYRMEX_MUST_USE"}
# Version macros change with every release by design.
VERSION_MACROS = re.compile(r"CODOMYRMEX_VERSION_(MAJOR|MINOR|PATCH)$")


def cargo_major():
    text = CARGO_TOML.read_text()
    match = re.search(r'^version\s*=\s*"(\d+)\.\d+\.\d+', text, re.MULTILINE)
    if not match:
        sys.exit("check-abi: cannot read the version from Cargo.toml")
    return int(match.group(1))


def header_items():
    """name -> normalised declaration, for functions, enum values and #defines."""
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", " ", text)
    items = {}
    for name, value in re.findall(r"^#define[ \t]+(CODOMYRMEX_\w+)[ \t]+(\S+)[ \t]*$", text, re.MULTILINE):
        if name not in IGNORED_TOKENS and not VERSION_MACROS.match(name):
            items["define " + name] = value
    for body in re.findall(r"typedef\s+enum\s*\w*\s*\{(.*?)\}", text, re.DOTALL):
        for name, value in re.findall(r"(\w+)\s*=\s*([^,\s]+)", body):
            items["enum " + name] = value
    for typedef in re.findall(r"typedef\s+[^;{}]+;", text):
        decl = " ".join(typedef.split())
        items["typedef " + decl.rstrip(";").split()[-1]] = decl
    for decl in re.findall(r"^[A-Za-z_][^;#{}()]*\bcodomyrmex_\w+\s*\([^;{}]*\)\s*;", text, re.MULTILINE):
        tokens = [t for t in " ".join(decl.split()).split(" ") if t not in IGNORED_TOKENS]
        decl = " ".join(tokens).replace("( ", "(").replace(" )", ")").replace(" ,", ",")
        name = re.search(r"(codomyrmex_\w+)\s*\(", decl).group(1)
        items["function " + name] = decl
    return items


def exported_functions(library):
    out = subprocess.run(
        ["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True
    ).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()}


def read_baseline():
    lines = BASELINE.read_text().splitlines()
    major = int(lines[0].split()[1])
    items = {}
    for line in lines[1:]:
        if line.strip():
            key, _, value = line.partition(" = ")
            items[key] = value
    return major, items


def write_baseline(items):
    lines = [f"major {cargo_major()}"]
    lines += [f"{key} = {items[key]}" for key in sorted(items)]
    BASELINE.write_text("\n".join(lines) + "\n")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    library = sys.argv[1]
    current = header_items()
    if "--update" in sys.argv[2:]:
        write_baseline(current)
        print(f"check-abi: wrote {BASELINE.relative_to(ROOT)} ({len(current)} items)")
        return 0

    failures = []
    declared = {key.split(" ", 1)[1] for key in current if key.startswith("function ")}
    exported = exported_functions(library)
    for name in sorted(declared - exported):
        failures.append(f"declared in the header but not exported: {name}")
    for name in sorted(exported - declared):
        failures.append(f"exported but not declared in the header: {name}")

    base_major, baseline = read_baseline()
    major = cargo_major()
    breaks = []
    for key, value in sorted(baseline.items()):
        if key not in current:
            breaks.append(f"removed: {key} = {value}")
        elif current[key] != value:
            breaks.append(f"changed: {key}: {value}  ->  {current[key]}")
    if breaks and major <= base_major:
        failures += [b + f" (needs a major version bump above {base_major})" for b in breaks]
    elif breaks:
        print(f"check-abi: {len(breaks)} breaking change(s), allowed by the major bump to {major}")
    added = sorted(set(current) - set(baseline))
    for key in added:
        print(f"check-abi: new since the baseline: {key}")

    if failures:
        print("check-abi: ABI check FAILED:", file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        return 1
    print(f"check-abi: OK: {len(declared)} functions exported and declared, "
          f"{len(baseline)} baseline items unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
