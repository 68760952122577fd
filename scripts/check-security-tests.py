#!/usr/bin/env python3
"""Checks that every test SECURITY.md names exists.

A promise in SECURITY.md's table points at the tests that check it, as
`file::function` (a file or directory under tests/), `file::*` (every test
of it) or `src/<path>: function`. This fails when one of them is gone or
renamed, so the table cannot drift from the tests.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sources(name: str) -> list[pathlib.Path]:
    single = ROOT / "tests" / f"{name}.rs"
    folder = ROOT / "tests" / name
    if single.is_file():
        return [single]
    if folder.is_dir():
        return sorted(folder.glob("*.rs"))
    return []


def defines(paths: list[pathlib.Path], function: str) -> bool:
    pattern = re.compile(rf"^\s*fn {re.escape(function)}\s*\(", re.MULTILINE)
    return any(pattern.search(p.read_text(encoding="utf-8")) for p in paths)


def main() -> int:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    table = text.split("## Promises and their tests", 1)[1].split("\n## ", 1)[0]
    missing, checked = [], 0
    for cell in re.findall(r"`([^`]+)`", table):
        if m := re.fullmatch(r"(src/[\w/.]+\.rs): (\w+)", cell):
            paths, function = [ROOT / m.group(1)], m.group(2)
        elif m := re.fullmatch(r"(\w+)::(\w+|\*)", cell):
            paths, function = sources(m.group(1)), m.group(2)
        elif m := re.fullmatch(r"examples-c/tests/[\w.]+\.c", cell):
            paths, function = [ROOT / cell], None
        else:
            continue
        checked += 1
        if not paths or not all(p.is_file() for p in paths):
            missing.append(cell)
        elif function not in (None, "*") and not defines(paths, function):
            missing.append(cell)
    for cell in missing:
        print(f"SECURITY.md names a test that does not exist: {cell}", file=sys.stderr)
    print(f"SECURITY.md: {checked} test references, {len(missing)} missing")
    return 1 if missing or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
