#!/usr/bin/env python3
"""Keeps docs/ARCHITECTURE.md true to the code: every code reference in it
must name something that exists. Prints each stale reference; exit 1 if any.

What counts as a code reference (in `inline code`, and `a::b` paths or
`*.rs` files anywhere in the page, the diagrams included):
- a path with `/` or a source extension (`backup/driver.rs`, `cli/tests/`):
  a file or folder under the repository, docs/, or a crate's src/;
- a Rust path `a::b::C` or `Type::method`: each module segment a folder or
  file of a crate's src/ (crate names as `innohot_simulator::...`), the last
  segment defined (fn, struct, enum, trait, type, const, mod, a variant, a
  re-export) in that module's files, or, after a type, a method of the crate;
- a CamelCase name (`LocalFs`): a type, trait or variant defined somewhere;
- `name()`: a function defined somewhere;
- `--option`: an option the CLI's sources spell.
Plain snake_case words, SQL and file names of the product are prose.

Usage: scripts/check-architecture.py [DOC]
       scripts/check-architecture.py --self-test   (each kind of stale reference is caught)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATES = {
    "innohot": ROOT / "engine/src",
    "innohot_simulator": ROOT / "simulator/src",
    "innohot_testbeds": ROOT / "testbeds/src",
    "innohot_cli": ROOT / "cli/src",
}
SOURCE_EXT = (".rs", ".md", ".sh", ".py", ".toml", ".snap")
# std items the page names when it says what the engine may not call.
STD = {"std", "thread", "fs", "File", "Instant", "OpenOptions"}
# Names of products and units, not of code.
PROSE = {"MariaDB", "MySQL", "InnoDB", "XtraBackup", "MyISAM", "TigerBeetle", "GiB", "MiB", "KiB", "GitHub", "CamelCase"}


def sources(base):
    if base.is_file():
        return [base]
    if base.is_dir():
        return sorted(p for p in base.rglob("*.rs"))
    return []


_texts = {}


def text(path):
    if path not in _texts:
        _texts[path] = path.read_text(errors="replace")
    return _texts[path]


def defines(files, name):
    """Whether `name` is declared in any of `files` (item, variant or re-export)."""
    n = re.escape(name)
    item = re.compile(
        rf"\b(fn|struct|enum|trait|type|const|static|mod|macro_rules!)\s+{n}\b"
        rf"|^\s*{n}\s*(\(|\{{|,|=|$)"
        rf"|\buse\s[^;]*\b{n}\b",
        re.M,
    )
    return any(item.search(text(f)) for f in files)


def all_sources():
    out = []
    for base in CRATES.values():
        out += sources(base)
    return out


def module_files(segments):
    """The files of module path `segments` (crate name first, or else the first
    crate that has such a module: the engine, the simulator, testbeds, the CLI)."""
    if segments and segments[0] in CRATES:
        return module_files_in(segments[0], segments[1:])
    for crate in CRATES:
        files = module_files_in(crate, segments)
        if files is not None:
            return files
    return None


def module_files_in(crate, segments):
    if segments and segments[0] == "crate":
        segments = segments[1:]
    base = CRATES[crate]
    for i, seg in enumerate(segments):
        d, f = base / seg, base / (seg + ".rs")
        if d.is_dir():
            base = d
        elif f.is_file():
            # A file module: the rest must be inline modules or items in it.
            rest = segments[i + 1:]
            files = [f] + sources(base / seg)
            return files if all(defines(files, r) for r in rest) else None
        else:
            return None
    return sources(base)


def check_rust_path(ref):
    segs = [s for s in ref.rstrip("()").split("::") if s]
    if segs[0] in STD:
        return None
    last, mods = segs[-1], segs[:-1]
    if mods and mods[-1][:1].isupper():
        # Type::method (or Enum::Variant): the type exists and so does the member.
        typ = mods[-1]
        everything = all_sources()
        if not defines(everything, typ):
            return f"no type {typ}"
        return None if defines(everything, last) else f"no member {last} (of {typ})"
    files = module_files(mods) if mods else all_sources()
    if files is None:
        return f"no module {'::'.join(mods)}"
    if mods and mods[0] in CRATES and len(mods) == 1 and defines(files, last):
        return None
    return None if defines(files, last) else f"{last} is not defined in {'::'.join(mods) or 'any crate'}"


def check_path(ref):
    ref = ref.rstrip("/")
    for base in [ROOT, ROOT / "docs"] + list(CRATES.values()):
        if (base / ref).exists():
            return None
    return "no such file or folder"


def check(ref):
    if "<" in ref:
        return None  # a placeholder such as `engine/src/flavor/<name>.rs`
    if ref.startswith("--"):
        opt = ref.split("=")[0].split()[0]
        cli = "".join(text(f) for f in sources(ROOT / "cli/src"))
        return None if opt[2:] in cli else "the CLI has no such option"
    if "::" in ref:
        return check_rust_path(ref)
    if "/" in ref or ref.endswith(SOURCE_EXT):
        return check_path(ref)
    if re.fullmatch(r"[a-z_][a-z0-9_]*\(\)", ref):
        return None if defines(all_sources(), ref[:-2]) else "no such function"
    if ref in PROSE or "<" in ref:
        return None
    if re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+|[A-Z][a-z]+[A-Z]\w*", ref):
        return None if defines(all_sources(), ref) else "no such type, trait or variant"
    if re.fullmatch(r"[a-z_][a-z0-9_]*", ref) and "_" in ref:
        # A snake_case word: a method, field, variable or file name; it must
        # at least occur in the code.
        return None if mentioned(ref) else "occurs nowhere in the code"
    return None


def mentioned(word):
    pattern = re.compile(rf"\b{re.escape(word)}\b")
    return any(pattern.search(text(f)) for f in all_sources())


def references(doc):
    """(line number, reference) of every code reference in the page."""
    found = []
    fenced = False
    for no, line in enumerate(doc.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            for m in re.finditer(r"(?<![\w:])([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)(?![\w:])", line):
                found.append((no, m.group(1)))
        for m in re.finditer(r"`([^`]+)`", line):
            tok = m.group(1).strip()
            # `name(args)` names the function `name`.
            call = re.fullmatch(r"([A-Za-z_][\w:]*)\(.*\)", tok)
            if call:
                tok = call.group(1) + ("()" if "::" not in call.group(1) else "")
            if " " not in tok or tok.startswith("--"):
                found.append((no, tok))
        bare = re.sub(r"`[^`]+`", "", line)
        for m in re.finditer(r"(?<![\w`])((?:[A-Za-z_]\w*::)+[A-Za-z_]\w*)", bare):
            found.append((no, m.group(1)))
        for m in re.finditer(r"(?<![\w/`.-])((?:[\w.-]+/)+[\w.-]+\.(?:rs|md|sh|py))\b", bare):
            found.append((no, m.group(1)))
    return found


# One stale reference of each kind, and one live one, for --self-test.
SELF_TEST_DOC = """\
`Backup::no_such_method`, `NoSuchTypeHere`, `copy::NoSuchItem`, `nosuch::Thing`,
`engine/src/no_such_file.rs`, `no_such_word_anywhere`, `no_such_fn()`, `--no-such-option`
```
 NoSuchDiagramType
```
`backup::Backup`
"""


def self_test():
    refs = references(SELF_TEST_DOC)
    stale = [r for _, r in refs if check(r)]
    live = [r for _, r in refs if not check(r)]
    if len(stale) != 9 or live != ["backup::Backup"]:
        print(f"self-test failed: stale {stale}, live {live}", file=sys.stderr)
        return 1
    print("check-architecture self-test: 9 planted stale references caught, the live one passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    doc_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/ARCHITECTURE.md"
    doc = doc_path.read_text()
    stale = []
    for no, ref in references(doc):
        why = check(ref)
        if why:
            stale.append(f"{doc_path.name}:{no}: `{ref}`: {why}")
    for s in stale:
        print(s)
    if stale:
        print(f"{len(stale)} stale reference(s) in {doc_path}", file=sys.stderr)
        return 1
    print(f"{doc_path.name}: every code reference names something that exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
