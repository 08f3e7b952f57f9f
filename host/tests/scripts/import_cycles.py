#!/usr/bin/env python3
"""Fails when two modules of the host's library use each other (`make lint`).

Edges are the `crate::...`, `super::...` and `self::...` paths in each file
(test modules excluded), resolved to the file of the longest module prefix;
a module's own `mod.rs` and its children are one unit (Rust's `super::`
re-exports), so only pairs of distinct files outside that relation count.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")


def module_path(path):
    parts = path[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                full = os.path.join(root, name)
                files[os.path.relpath(full, SRC)] = open(full, encoding="utf-8").read()
    modules = {module_path(p): p for p in files}

    def resolve(current, path):
        segments = path.split("::")
        if segments[0] == "crate":
            base, segments = [], segments[1:]
        elif segments[0] == "super":
            base = list(current)
            while segments and segments[0] == "super":
                base, segments = base[:-1], segments[1:]
        else:
            base, segments = list(current), segments[1:]
        full = base + segments
        for i in range(len(full), 0, -1):
            if tuple(full[:i]) in modules:
                return modules[tuple(full[:i])]
        return None

    edges = set()
    for path, text in files.items():
        current = module_path(path)
        text = text.split("#[cfg(test)]")[0]
        for match in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
            target = resolve(current, match.group(1))
            if target and target != path:
                edges.add((path, target))
    cycles = sorted((a, b) for a, b in edges if (b, a) in edges and a < b)
    for a, b in cycles:
        print(f"import cycle: {a} <-> {b}", file=sys.stderr)
    print(f"{len(files)} files, {len(edges)} module edges, {len(cycles)} two-file cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
