"""Figures for issue 16's before/after note: the engine object's shape and duplicated helpers.

Usage: .venv/bin/python scripts/engine_metrics.py

Prints the Engine class's MRO length, its attributes (public/total, dunders left out), the
largest number of bases of any class under cove.engine, and counts of helper copies found by
pattern in src/cove (each pattern names what counts as one copy).
"""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
import sys
import textwrap
from importlib import import_module
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "cove"

# what one copy of each helper looks like; util/ modules that are the one source are left out
COPIES = {
    "rfc3339 format/parse": (
        re.compile(r"(strftime|strptime)\([^)]*%Y-%m-%dT%H:%M"),
        {"util/timefmt.py"},
    ),
    "label filter": (re.compile(r"def _?labels?_(match|ok)\b|def _labels_match"), set()),
    "thread bridge": (
        re.compile(r"call_soon_threadsafe|run_in_executor"),
        {"util/bridge.py"},
    ),
    "pid_start_time": (re.compile(r"^def pid_start_time"), set()),
    "Json alias": (re.compile(r"^Json = dict\[str, Any\]"), {"util/jsontypes.py"}),
}


def engine_shape() -> None:
    from cove.engine.core import Engine

    mro = [c for c in Engine.__mro__ if c is not object]
    names: set[str] = set()
    for c in mro:
        names |= {n for n in vars(c) if not (n.startswith("__") and n.endswith("__"))}
    public = [n for n in names if not n.startswith("_")]
    print(f"Engine MRO: {len(mro) + 1} classes")
    print(f"Engine attributes: {len(public)} public / {len(names)} total")
    import cove.engine as pkg

    most = (0, "")
    for info in pkgutil.walk_packages(pkg.__path__, "cove.engine."):
        mod = import_module(info.name)
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == info.name and len(cls.__bases__) > most[0]:
                most = (len(cls.__bases__), f"{info.name}.{cls.__name__}")
    print(f"most bases of a class in cove.engine: {most[0]} ({most[1]})")
    from cove.engine.containers.service import ContainerService

    chain = [c.__name__ for c in ContainerService.__mro__ if c is not object]
    print(f"ContainerService MRO: {len(chain) + 1} classes ({' > '.join(chain)})")
    from cove.util.forward import Forward

    forwards = [n for n, f in vars(Engine).items() if callable(f) and _forwards(f)]
    table = [n for n, f in vars(Engine).items() if isinstance(f, Forward)]
    print(f"Engine methods that only forward to a service: {len(forwards)}")
    print(f"Engine operations in its Forward table (one line each): {len(table)}")


def _forwards(func: object) -> bool:
    """A method whose body is one ``return``/``await``/call of ``self.<service>...<name>``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    body = [st for st in fn.body if not isinstance(st, ast.Expr | ast.Constant) or
            not isinstance(getattr(st, "value", None), ast.Constant)]  # fmt: skip
    if len(body) != 1 or not isinstance(body[0], ast.Return | ast.Expr):
        return False
    value = body[0].value
    if isinstance(value, ast.Await):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and isinstance(value.func.value, ast.Attribute)
        and value.func.attr == fn.name
    )


def copies() -> None:
    for what, (pattern, skip) in COPIES.items():
        hits = []
        for path in sorted(SRC.rglob("*.py")):
            rel = str(path.relative_to(SRC))
            if rel in skip:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{rel}:{n}")
        print(f"{what}: {len(hits)}  {' '.join(hits)}")


if __name__ == "__main__":
    engine_shape()
    copies()
    sys.exit(0)
