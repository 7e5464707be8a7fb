"""Import cycles in a package: `make layers` fails when there is one.

Usage: .venv/bin/python scripts/import_cycles.py [package]   (default: cove)

Builds the module import graph with grimp (the library under import-linter) and prints each
strongly connected component of more than one module, i.e. every set of modules that import
each other directly or through a chain. Imports under ``if TYPE_CHECKING:`` are not counted:
they do not run, so they cannot make an import-time cycle, and they are how a module names a
type owned by a module that depends on it.
Exit status: 0 without cycles, 1 with (the count and the members are printed).
"""

from __future__ import annotations

import sys

import grimp


def cycles(package: str) -> list[list[str]]:
    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    mods = sorted(graph.modules)
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in mods}
    # Tarjan's algorithm, iterative (the graph has ~500 modules; recursion would do too)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in mods:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = succ.get(node, [])
            if i < len(nexts):
                work.append((node, i + 1))
                nxt = nexts[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(found)


def main(argv: list[str]) -> int:
    package = argv[1] if len(argv) > 1 else "cove"
    found = cycles(package)
    for comp in found:
        print(f"cycle of {len(comp)}: {', '.join(comp)}")
    print(f"{len(found)} import cycle(s) in {package}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
