#!/usr/bin/env python3
"""Draws the copy bench's chunk x policy sweep as an SVG bar chart.

Reads criterion's estimates (target/criterion/copy/<policy>/<chunk>/new/
estimates.json, written by `cargo bench -p innohot-benches --bench copy`)
and writes docs/copy-sweep.svg plus a Markdown table on stdout. No
plotting library: the SVG is written by hand.

    scripts/plot-copy-sweep.py [CRITERION_DIR=target/criterion] [MIB=64] [OUT=docs/copy-sweep.svg]
"""
import json
import sys
from pathlib import Path

POLICIES = ["buffered", "buffered+fadvise", "odirect-source", "odirect-source+fadvise"]
CHUNKS = ["64KiB", "1024KiB", "4096KiB", "10240KiB", "65536KiB"]
COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]


def throughput(root: Path, policy: str, chunk: str, mib: int) -> float:
    est = json.loads((root / "copy" / policy / chunk / "new" / "estimates.json").read_text())
    seconds = est["mean"]["point_estimate"] / 1e9
    return mib / seconds


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    out = Path(sys.argv[3] if len(sys.argv) > 3 else "docs/copy-sweep.svg")
    data = {(p, c): throughput(root, p, c, mib) for p in POLICIES for c in CHUNKS}
    top = max(data.values()) * 1.1
    width, height, left, bottom, top_pad = 760, 360, 60, 50, 40
    plot_w, plot_h = width - left - 20, height - bottom - top_pad
    group_w = plot_w / len(CHUNKS)
    bar_w = group_w * 0.8 / len(POLICIES)
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
        f"Cold-cache durable copy of a {mib} MiB tablespace (MiB/s, higher is better)</text>",
    ]
    for i in range(6):
        v = top * i / 5
        y = top_pad + plot_h - plot_h * i / 5
        svg.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    for gi, chunk in enumerate(CHUNKS):
        x0 = left + gi * group_w + group_w * 0.1
        label = f"{int(chunk[:-3]) // 1024} MiB" if int(chunk[:-3]) >= 1024 else chunk.replace("KiB", " KiB")
        svg.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 18}" text-anchor="middle">{label}</text>')
        for pi, policy in enumerate(POLICIES):
            v = data[(policy, chunk)]
            h = plot_h * v / top
            x = x0 + pi * bar_w
            y = top_pad + plot_h - h
            svg.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{COLOURS[pi]}"/>')
    for pi, policy in enumerate(POLICIES):
        x = left + pi * 170
        svg.append(f'<rect x="{x}" y="{height - 18}" width="10" height="10" fill="{COLOURS[pi]}"/>')
        svg.append(f'<text x="{x + 14}" y="{height - 9}">{policy}</text>')
    svg.append("</svg>")
    out.write_text("\n".join(svg) + "\n")
    print("| chunk | " + " | ".join(POLICIES) + " |")
    print("|---|" + "---:|" * len(POLICIES))
    for chunk in CHUNKS:
        print(f"| {chunk} | " + " | ".join(f"{data[(p, chunk)]:.0f}" for p in POLICIES) + " |")


if __name__ == "__main__":
    main()
