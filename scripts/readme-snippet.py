#!/usr/bin/env python3
"""Prints a README's code block marked for testing.

    scripts/readme-snippet.py README.md NAME

The block is the first fenced code block after the line
``<!-- snippet: NAME ...-->``: what scripts/test-packages.sh runs is
exactly what the README shows.
"""

import re
import sys


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, name = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    marker = re.search(rf"^<!-- snippet: {re.escape(name)}(?:\s.*?)?-->\n", text, re.MULTILINE)
    if not marker:
        sys.exit(f"readme-snippet: no '<!-- snippet: {name}' marker in {path}")
    block = re.compile(r"^```[\w-]*\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, marker.end())
    if not block:
        sys.exit(f"readme-snippet: no code block after the '{name}' marker in {path}")
    sys.stdout.write(block.group(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
