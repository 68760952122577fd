#!/usr/bin/env python3
"""Draws HMAC throughput by message size from the benchmark's CSV as SVG.

Usage: plot_bench.py RESULTS.csv OUT.svg

One panel per hash (SHA-256, SHA-384, SHA-512); in each, one line per
implementation of the "HMAC one-shot" rows: message size (log scale) against
MB/s (log scale). Standard library only.
"""

import csv
import math
import sys
from xml.sax.saxutils import escape

COLORS = {
    "codomyrmex_keys": "#d62728",
    "OpenSSL EVP_MAC (ctx reused)": "#1f77b4",
    "OpenSSL HMAC()": "#7fb2e5",
    "libsodium": "#2ca02c",
}
DASH = {"OpenSSL HMAC()": "6,4"}
ALGS = ["SHA256", "SHA384", "SHA512"]


def size_label(n):
    if n >= 1 << 20:
        return f"{n >> 20} MiB"
    if n >= 1 << 10:
        return f"{n >> 10} KiB"
    return f"{n} B"


def read(path):
    """{alg: {impl: [(bytes, MB/s)]}} for the one-shot HMAC rows, and the
    machine line."""
    series = {}
    machine = ""
    with open(path, newline="") as f:
        lines = []
        for line in f:
            if line.startswith("#"):
                machine = line[1:].strip()
            else:
                lines.append(line)
    for row in csv.DictReader(lines):
        if not row["group"].startswith("HMAC one-shot") or not row["mb_per_s"]:
            continue
        points = series.setdefault(row["alg"], {}).setdefault(row["impl"], [])
        points.append((int(row["bytes"]), float(row["mb_per_s"])))
    for impls in series.values():
        for points in impls.values():
            points.sort()
    return series, machine


def svg(series, machine):
    panel_w, panel_h = 330, 300
    left, top, gap, bottom = 70, 60, 30, 110
    width = left + 3 * panel_w + 2 * gap + 20
    height = top + panel_h + bottom
    values = [v for impls in series.values() for pts in impls.values() for _, v in pts]
    sizes = sorted({s for impls in series.values() for pts in impls.values() for s, _ in pts})
    if not values or not sizes:
        raise SystemExit("no HMAC one-shot rows in the CSV")
    y_lo = 10 ** math.floor(math.log10(min(values)))
    y_hi = 10 ** math.ceil(math.log10(max(values)))
    x_lo, x_hi = math.log2(sizes[0]), math.log2(sizes[-1])

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16">'
        "HMAC throughput by message size (one-shot, 32-byte key; higher is better)</text>",
    ]
    for i, alg in enumerate(ALGS):
        x0 = left + i * (panel_w + gap)

        def px(size, x0=x0):
            return x0 + (math.log2(size) - x_lo) / (x_hi - x_lo) * panel_w

        def py(value):
            return top + panel_h - (math.log10(value) - math.log10(y_lo)) / (
                math.log10(y_hi) - math.log10(y_lo)
            ) * panel_h

        out.append(
            f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{panel_h}" '
            'fill="none" stroke="#888"/>'
        )
        out.append(
            f'<text x="{x0 + panel_w / 2}" y="{top - 8}" text-anchor="middle" '
            f'font-size="14">HMAC-{alg[:3]}-{alg[3:]}</text>'
        )
        decade = y_lo
        while decade <= y_hi * 1.0001:
            y = py(decade)
            out.append(
                f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + panel_w}" y2="{y:.1f}" stroke="#eee"/>'
            )
            if i == 0:
                label = f"{decade:g}"
                out.append(
                    f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
                )
            decade *= 10
        for s in sizes:
            x = px(s)
            out.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + panel_h}" stroke="#eee"/>'
            )
            out.append(
                f'<text x="{x:.1f}" y="{top + panel_h + 16}" text-anchor="middle">'
                f"{size_label(s)}</text>"
            )
        for impl, points in series.get(alg, {}).items():
            color = COLORS.get(impl, "#555")
            dash = f' stroke-dasharray="{DASH[impl]}"' if impl in DASH else ""
            path = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in points)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>'
            )
            for s, v in points:
                out.append(f'<circle cx="{px(s):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
        if alg == "SHA384":
            out.append(
                f'<text x="{x0 + panel_w / 2}" y="{top + panel_h - 10}" text-anchor="middle" '
                'fill="#555">(libsodium has no HMAC-SHA-384)</text>'
            )
    out.append(
        f'<text x="18" y="{top + panel_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + panel_h / 2})">MB/s (log scale)</text>'
    )
    out.append(
        f'<text x="{left + (3 * panel_w + 2 * gap) / 2}" y="{top + panel_h + 36}" '
        'text-anchor="middle">message size</text>'
    )
    lx = left
    for impl, color in COLORS.items():
        dash = f' stroke-dasharray="{DASH[impl]}"' if impl in DASH else ""
        y = top + panel_h + 62
        out.append(
            f'<line x1="{lx}" y1="{y}" x2="{lx + 24}" y2="{y}" stroke="{color}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{lx + 30}" y="{y + 4}">{escape(impl)}</text>')
        lx += 60 + 7 * len(impl)
    if machine:
        short = "; ".join(
            part
            for part in machine.split("; ")
            if part.split("=")[0] in ("cpu", "openssl", "libsodium", "codomyrmex_keys")
        )
        out.append(
            f'<text x="{left}" y="{top + panel_h + 90}" fill="#555" font-size="11">'
            f"{escape(short)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    series, machine = read(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        f.write(svg(series, machine))


if __name__ == "__main__":
    main()
