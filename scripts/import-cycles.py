#!/usr/bin/env python3
"""Lists the import graph of rtkvm-core's modules and the circles in it.

Reads every `.rs` file under core/src (the `rtkvm` binary in core/src/bin/ is a crate of its own and
left out), strips comments, string literals and `#[cfg(test)]` items (unit tests may use any module),
and takes each `crate::a::b` and `super::b` path as an
edge from the file's module to the module the path names (`crate::CpuSet` and the other re-exports of
lib.rs name the module they come from). The graph is judged at two levels, as ARCHITECTURE.md says:

- the crate's top-level modules (`plan`, `cmdline`, `link`, …): a file of `plan/` counts as `plan`;
- inside each module that is a folder (`plan/`, `link/`, `export/`), its files among themselves; the
  folder's `mod.rs` is the module's face (its data and re-exports), so edges to and from it are not
  part of this level.

Usage: scripts/import-cycles.py [--graph] [CORE_SRC]
Prints the circles found, one per line (`plan -> cmdline -> plan`), and exits 1 when there is one.
With --graph it prints every module's imports first. core/tests/layout.rs applies the same rules in
`cargo test`.
"""

import os
import re
import sys


def strip(text):
    """Returns the text with comments, string and character literals blanked out."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 12]):
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            i += len(m.group(0)) if m else 1
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_tests(text):
    """Returns stripped source without its `#[cfg(test)]` items (unit tests are not the library)."""
    while True:
        m = re.search(r"#\[cfg\(test\)\]", text)
        if not m:
            return text
        i = m.end()
        while i < len(text) and text[i] not in "{;":
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            while i < len(text):
                depth += text[i] == "{"
                depth -= text[i] == "}"
                i += 1
                if depth == 0:
                    break
        text = text[: m.start()] + text[i + 1 if i < len(text) and text[i] == ";" else i :]


def modules(src):
    """Maps each module path (`plan`, `plan::partition`) to its file."""
    found = {}
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if os.path.join(root, d) != os.path.join(src, "bin"))
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel == ["lib"]:
                rel = []
            found["::".join(rel)] = os.path.join(root, f)
    return found


def expand_use(tree):
    """Expands a use tree (`crate::{a::X, b::{Y, Z}}`) into its paths."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.groups()
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    return [p for part in parts if part for p in expand_use(prefix + part)]


def paths(text):
    """Every `crate::…` and `super::…` path in stripped source, use trees expanded."""
    found = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", text):
        found.extend(expand_use(m.group(1)))
    for m in re.finditer(r"(?<![:\w])((?:crate|super)(?:::\w+)+)", text):
        found.append(m.group(1))
    return found


def graph(src):
    """Returns {module: set of modules it imports}, at file level."""
    mods = modules(src)
    lib = strip(open(mods[""], encoding="utf-8").read())
    reexports = {}
    for m in re.finditer(r"\bpub\s+use\s+(\w+)::([^;]*);", lib):
        for p in expand_use(m.group(2)):
            reexports[p.split("::")[-1].split(" as ")[-1]] = m.group(1)
    edges = {}
    for mod, file in mods.items():
        if mod == "":
            continue
        text = drop_tests(strip(open(file, encoding="utf-8").read()))
        deps = set()
        for path in paths(text):
            seg = path.split("::")
            if seg[0] == "crate":
                seg = seg[1:]
            elif seg[0] == "super":
                base = mod.split("::")
                while seg and seg[0] == "super":
                    base, seg = base[:-1], seg[1:]
                seg = base + seg
            elif seg[0] == "self":
                seg = mod.split("::") + seg[1:]
            # The longest module the path names.
            target = None
            for k in range(len(seg), 0, -1):
                if "::".join(seg[:k]) in mods:
                    target = "::".join(seg[:k])
                    break
            if target is None and seg and seg[0] in reexports:
                target = reexports[seg[0]]
            if target and target != mod:
                deps.add(target)
        edges[mod] = deps
    return edges


def cycles(edges):
    """Every elementary circle, each once, starting at its smallest module."""
    found = []
    nodes = sorted(edges)

    def walk(start, node, path, on_path):
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                found.append(path + [start])
            elif nxt > start and nxt not in on_path:
                on_path.add(nxt)
                walk(start, nxt, path + [nxt], on_path)
                on_path.discard(nxt)

    for start in nodes:
        walk(start, start, [start], {start})
    return found


def levels(edges):
    """The graphs judged: the top-level modules, then each folder's files among themselves."""
    top = {}
    for mod, deps in edges.items():
        a = mod.split("::")[0]
        top.setdefault(a, set())
        top[a] |= {d.split("::")[0] for d in deps if d.split("::")[0] != a}
    result = [("crate", top)]
    folders = sorted({m.rsplit("::", 1)[0] for m in edges if "::" in m})
    for folder in folders:
        inner = {}
        for mod, deps in edges.items():
            if mod.rsplit("::", 1)[0] != folder or "::" not in mod:
                continue
            inner[mod] = {d for d in deps if "::" in d and d.rsplit("::", 1)[0] == folder}
        result.append((folder, inner))
    return result


def main(argv):
    show = "--graph" in argv
    args = [a for a in argv if a != "--graph"]
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "core", "src")
    edges = graph(src)
    bad = []
    for name, g in levels(edges):
        if show:
            print(f"# {name}")
            for mod in sorted(g):
                print(f"{mod} -> {', '.join(sorted(g[mod])) or '(nothing)'}")
        bad.extend(cycles(g))
    if show:
        print()
    for c in bad:
        print("circle: " + " -> ".join(c))
    if not bad:
        print("no import circle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
