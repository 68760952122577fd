#!/usr/bin/env python3
"""Guards the C ABI of codomyrmex_keys: abi/codomyrmex_keys.abi is the one
description of it, and this script keeps it true.

The .abi file lists every function (its return and parameter types, without
parameter names, which may change freely), status value, constant and
typedef of include/codomyrmex_keys.h. The bindings' drift tests read it, so
it must always describe the current header. This script checks:

- every function the header declares is exported by the library, and the
  library exports nothing else (only codomyrmex_* functions);
- the header and the .abi file list the same items. An item the header has
  and the file lacks is new (a minor version bump): add it with --update.
  An item that disappeared or changed is an ABI break, which --update
  records only when the major version in Cargo.toml is above the file's.

    scripts/check-abi.py LIBRARY.so           check
    scripts/check-abi.py LIBRARY.so --update  rewrite the .abi file from the
                                              header (new items; breaks
                                              only after a major bump)
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
        decl = " ".join(tokens)
        match = re.match(r"(.*?)\b(codomyrmex_\w+)\s*\((.*)\)\s*;$", decl)
        ret, name, params = match.group(1), match.group(2), match.group(3)
        items["function " + name] = f"{c_type(ret)}({', '.join(param_types(params))})"
    return items


def c_type(text):
    """A C type written one way: single spaces, '*' after a space and joined."""
    text = re.sub(r"\s*\*\s*", "*", " ".join(text.split()))
    return re.sub(r"(?<=[\w])\*", " *", text).strip()


def param_types(params):
    """The types of a parameter list, without the parameter names."""
    params = params.strip()
    if params in ("", "void"):
        return []
    types = []
    for param in params.split(","):
        param = c_type(param)
        match = re.match(r"^(.*[\s*])\w+$", param)
        if not match:
            sys.exit(f"check-abi: cannot read the parameter '{param}'")
        types.append(c_type(match.group(1)))
    return types


def exported_functions(library):
    out = subprocess.run(
        ["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True
    ).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()}


FORMAT = """\
# The C interface of codomyrmex_keys, one item a line, written and checked by
# scripts/check-abi.py against include/codomyrmex_keys.h:
#   major N                         the major version this file describes
#   function NAME = RET(TYPE, ...)  return and parameter types, no names
#   enum NAME = VALUE               codomyrmex_status values
#   define NAME = VALUE             constants (the version macros excepted)
#   typedef NAME = DECLARATION
# The bindings' drift tests compare their function tables, constants and
# status values with this file."""


def read_baseline():
    lines = [line for line in BASELINE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    major = int(lines[0].split()[1])
    items = {}
    for line in lines[1:]:
        key, _, value = line.partition(" = ")
        items[key] = value
    return major, items


def write_baseline(items, major):
    lines = [FORMAT, f"major {major}"]
    lines += [f"{key} = {items[key]}" for key in sorted(items)]
    BASELINE.write_text("\n".join(lines) + "\n")


def breaking_changes(baseline, current):
    breaks = []
    for key, value in sorted(baseline.items()):
        if key not in current:
            breaks.append(f"removed: {key} = {value}")
        elif current[key] != value:
            breaks.append(f"changed: {key}: {value}  ->  {current[key]}")
    return breaks


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    library = sys.argv[1]
    current = header_items()
    base_major, baseline = read_baseline()
    major = cargo_major()
    breaks = breaking_changes(baseline, current)
    if "--update" in sys.argv[2:]:
        if breaks and major <= base_major:
            print("check-abi: refusing to record ABI breaks without a major version bump:", file=sys.stderr)
            for b in breaks:
                print("  " + b, file=sys.stderr)
            return 1
        write_baseline(current, max(major, base_major))
        print(f"check-abi: wrote {BASELINE.relative_to(ROOT)} ({len(current)} items)")
        return 0

    failures = []
    declared = {key.split(" ", 1)[1] for key in current if key.startswith("function ")}
    exported = exported_functions(library)
    for name in sorted(declared - exported):
        failures.append(f"declared in the header but not exported: {name}")
    for name in sorted(exported - declared):
        failures.append(f"exported but not declared in the header: {name}")

    if breaks and major <= base_major:
        failures += [b + f" (needs a major version bump above {base_major})" for b in breaks]
    elif breaks:
        failures += [b + f" (allowed by the major bump to {major}: record it with --update)" for b in breaks]
    added = sorted(set(current) - set(baseline))
    for key in added:
        failures.append(f"not yet in {BASELINE.relative_to(ROOT)}: {key} = {current[key]} (add it with --update)")

    if failures:
        print("check-abi: ABI check FAILED:", file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        return 1
    print(f"check-abi: OK: {len(declared)} functions exported and declared, "
          f"the {len(baseline)} items of {BASELINE.relative_to(ROOT)} match the header")
    return 0


if __name__ == "__main__":
    sys.exit(main())
