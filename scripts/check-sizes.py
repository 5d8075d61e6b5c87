#!/usr/bin/env python3
"""Keeps engine/, simulator/, testbeds/ and cli/ readable: no source file over
FILE_LIMIT lines and no function over FN_LIMIT lines, tests aside (`tests.rs`, `tests/`, and
`#[cfg(test)]` modules are not counted). Prints each offender; exit 1 if any.

Usage: scripts/check-sizes.py [--list N]   (--list prints the N longest functions)
"""
import pathlib
import re
import sys

FILE_LIMIT = 600
FN_LIMIT = 80
ROOTS = ["engine/src", "simulator/src", "testbeds/src", "cli/src"]
FN_RE = re.compile(r"^\s*(pub(\([a-z]+\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def strip_test_modules(lines):
    """Source lines with `#[cfg(test)] mod ... { ... }` blocks blanked."""
    out = list(lines)
    i = 0
    while i < len(out):
        if out[i].strip() == "#[cfg(test)]" and i + 1 < len(out) and re.match(r"^\s*mod\s+\w+\s*\{", out[i + 1]):
            depth = 0
            j = i + 1
            while j < len(out):
                depth += out[j].count("{") - out[j].count("}")
                out[j] = ""
                if depth <= 0:
                    break
                j += 1
            out[i] = ""
            i = j
        i += 1
    return out


def functions(lines):
    """(name, first line, length) of every fn with a body, by brace counting."""
    found = []
    for i, line in enumerate(lines):
        m = FN_RE.match(line)
        if not m:
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r'"(\\.|[^"\\])*"|//.*$|\'.\'', "", lines[j])
            if not started and ";" in code and "{" not in code:
                break  # a declaration without a body
            depth += code.count("{") - code.count("}")
            started = started or "{" in code
            if started and depth <= 0:
                found.append((m.group(5), i + 1, j - i + 1))
                break
    return found


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    listing = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--list" else 0
    bad, all_fns = [], []
    for base in ROOTS:
        for path in sorted((root / base).rglob("*.rs")):
            if path.name == "tests.rs" or "tests" in path.relative_to(root / base).parts:
                continue
            rel = path.relative_to(root)
            original = path.read_text().rstrip("\n").split("\n")
            lines = strip_test_modules(original)
            counted = sum(1 for a, b in zip(original, lines) if a == b)
            if counted > FILE_LIMIT:
                bad.append(f"{rel}: {counted} lines (limit {FILE_LIMIT}); split it by concern")
            for name, at, n in functions(lines):
                all_fns.append((n, f"{rel}:{at} {name}"))
                if n > FN_LIMIT:
                    bad.append(f"{rel}:{at}: fn {name} is {n} lines (limit {FN_LIMIT})")
    for n, where in sorted(all_fns, reverse=True)[:listing]:
        print(f"{n:5} {where}")
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
