"""Run a parsed Go template over JSON-shaped data, printing values as Go's ``fmt`` would.

Data comes from the API as dicts and lists, so Go's struct-versus-map distinction is guessed:
a dict printed as ``{v1 v2}`` when its keys look like Go fields, ``map[k:v]`` (sorted) when it
is one of the well-known map fields (Labels, Volumes...) or its keys do not look like fields.
The functions are docker's (json, join, split, upper, lower, title, truncate, pad) plus Go's
builtins (index, len, print, printf, println, eq, ne, lt, le, gt, ge, and, or, not).
"""

from __future__ import annotations

from cove.cli.tmpl_parse import Block, Pipeline, TemplateError, Tok, parse
from cove.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAP_FIELDS = frozenset(
    [
        "Labels",
        "Volumes",
        "ExposedPorts",
        "PortBindings",
        "Ports",
        "Networks",
        "Options",
        "Sysctls",
        "Tmpfs",
        "StorageOpt",
        "DriverOpts",
        "Data",
        "Config",
        "Annotations",
        "Env",
    ]
)  # "Config" is a map only inside LogConfig; Env is a list, never a dict, so it is harmless
LIST_FIELDS = frozenset(
    [
        "Entrypoint",
        "Cmd",
        "Env",
        "Binds",
        "Links",
        "CapAdd",
        "CapDrop",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
        "SecurityOpt",
        "Mounts",
        "OnBuild",
        "Shell",
        "RepoTags",
        "RepoDigests",
        "Layers",
        "Aliases",
        "Devices",
        "GroupAdd",
        "VolumesFrom",
        "Ulimits",
        "MaskedPaths",
        "ReadonlyPaths",
        "Args",
        "DNSNames",
    ]
)


def fmt_value(v: Any, key: str = "") -> str:
    """Go's ``%v``."""
    if v is None:
        if key in LIST_FIELDS:
            return "[]"
        if key in MAP_FIELDS:
            return "map[]"
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, list):
        return "[" + " ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        looks_struct = all(k[:1].isupper() and k.isidentifier() for k in v)
        if key in MAP_FIELDS or not looks_struct or not v:
            items = sorted(v.items())
            return "map[" + " ".join(f"{k}:{fmt_value(x, k)}" for k, x in items) + "]"
        return "{" + " ".join(fmt_value(x, k) for k, x in v.items()) + "}"
    return str(v)


def truthy(v: Any) -> bool:
    return not (v is None or v is False or v == 0 or v == "" or v == [] or v == {})


def to_json(v: Any) -> str:
    if isinstance(v, dict):  # a row's template methods (ps' .Label) are not data
        v = {k: x for k, x in sorted(v.items()) if not callable(x)}
    return json.dumps(v)


def _printf(fmt: str, *args: Any) -> str:
    out = []
    i = n = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "+-# 0123456789.":
            j += 1
        if j >= len(fmt):
            out.append(fmt[i:])
            break
        spec, verb = fmt[i + 1 : j], fmt[j]
        i = j + 1
        if verb == "%":
            out.append("%")
            continue
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[n]
        n += 1
        if verb in "dxXo" and isinstance(a, int | float) and not isinstance(a, bool):
            out.append(("%" + spec + verb) % int(a))
        elif verb in "feEgG" and isinstance(a, int | float):
            out.append(("%" + spec + verb) % a)
        elif verb == "q":
            from cove.cli.units import go_quote

            out.append(("%" + spec + "s") % go_quote(fmt_value(a)))
        else:
            out.append(("%" + spec + "s") % fmt_value(a))
    return "".join(out)


def _sprint(*args: Any) -> str:
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += fmt_value(a)
    return out


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict):
            v = v.get(k)
        elif isinstance(v, list | str) and isinstance(k, int):
            if not 0 <= k < len(v):
                raise TemplateError(f"error calling index: index out of range: {k}")
            v = v[k]
        else:
            raise TemplateError(f"error calling index: cannot index {fmt_value(v)}")
    return v


def _cmp(op: str) -> Callable[..., bool]:
    def f(a: Any, *bs: Any) -> bool:
        if op == "eq":
            return any(a == b for b in bs)
        b = bs[0]
        return bool({"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op])

    return f


def _and(*args: Any) -> Any:
    for a in args:
        if not truthy(a):
            return a
    return args[-1]


def _or(*args: Any) -> Any:
    for a in args:
        if truthy(a):
            return a
    return args[-1]


FUNCS: dict[str, Callable[..., Any]] = {
    "json": to_json,
    "join": lambda xs, sep: sep.join(fmt_value(x) for x in (xs or [])),
    "split": lambda s, sep: s.split(sep),
    "upper": lambda s: fmt_value(s).upper(),
    "lower": lambda s: fmt_value(s).lower(),
    "title": lambda s: " ".join(w[:1].upper() + w[1:] for w in fmt_value(s).split(" ")),
    "truncate": lambda s, n: fmt_value(s)[: int(n)],
    "pad": lambda s, left, right: " " * int(left) + fmt_value(s) + " " * int(right),
    "len": lambda v: len(v) if v is not None else 0,
    "index": _index,
    "print": _sprint,
    "printf": _printf,
    "println": lambda *a: " ".join(fmt_value(x) for x in a) + "\n",
    "not": lambda v: not truthy(v),
    "and": _and,
    "or": _or,
    **{op: _cmp(op) for op in ("eq", "ne", "lt", "le", "gt", "ge")},
}


class Template:
    """``Template(src).execute(data)``; ``strict`` makes a missing key an error (inspect)."""

    def __init__(self, src: str, strict: bool = True) -> None:
        self.src = src
        self.nodes = parse(src)
        self.strict = strict

    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.nodes, data, {"$": data}, out)
        return "".join(out)

    def _fail(self, pos: int, what: str, msg: str) -> TemplateError:
        return TemplateError(f'template: :1:{pos}: executing "" at <{what}>: {msg}')

    def _run(self, nodes: list[Any], dot: Any, env: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Pipeline):
                value, key = self._pipe(node, dot, env)
                if not node.decl:
                    out.append("<no value>" if value is _MISSING else fmt_value(value, key))
            elif isinstance(node, Block):
                self._block(node, dot, env, out)

    def _block(self, b: Block, dot: Any, env: dict[str, Any], out: list[str]) -> None:
        scope = dict(env)
        value, _ = self._pipe(b.pipe, dot, scope)
        if b.kind == "if":
            self._run(b.body if truthy(value) else b.orelse, dot, scope, out)
        elif b.kind == "with":
            if truthy(value):
                self._run(b.body, value, scope, out)
            else:
                self._run(b.orelse, dot, scope, out)
        else:
            items: list[tuple[Any, Any]]
            if isinstance(value, dict):
                items = sorted(value.items())
            elif isinstance(value, list):
                items = list(enumerate(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                items = [(i, i) for i in range(value)]
            elif value is None or value is _MISSING:
                items = []
            else:
                raise TemplateError(f"range can't iterate over {fmt_value(value)}")
            if not items:
                self._run(b.orelse, dot, scope, out)
            for k, v in items:
                if len(b.pipe.decl) == 2:
                    scope[b.pipe.decl[0]], scope[b.pipe.decl[1]] = k, v
                elif b.pipe.decl:
                    scope[b.pipe.decl[0]] = v
                self._run(b.body, v, scope, out)

    def _pipe(self, p: Pipeline, dot: Any, env: dict[str, Any]) -> tuple[Any, str]:
        value: Any = _MISSING
        key = ""
        for i, cmd in enumerate(p.cmds):
            value, key = self._cmd(cmd, dot, env, value if i else _MISSING)
        if p.decl:
            env[p.decl[-1]] = value
        return value, key

    def _cmd(self, cmd: list[Any], dot: Any, env: dict[str, Any], piped: Any) -> tuple[Any, str]:
        head = cmd[0]
        if isinstance(head, Tok) and head.kind == "ident":
            fn = FUNCS.get(head.value)
            if fn is None:
                raise TemplateError(f'template: :1: function "{head.value}" not defined')
            args = [self._arg(a, dot, env)[0] for a in cmd[1:]]
            if piped is not _MISSING:
                args.append(piped)
            try:
                return fn(*args), ""
            except TemplateError:
                raise
            except (TypeError, ValueError, AttributeError, KeyError) as e:
                raise self._fail(head.pos, head.value, f"error calling {head.value}: {e}") from e
        value, key = self._arg(head, dot, env)
        if callable(value):
            args = [self._arg(a, dot, env)[0] for a in cmd[1:]]
            if piped is not _MISSING:
                args.append(piped)
            return value(*args), key
        if len(cmd) > 1 or piped is not _MISSING:
            raise TemplateError(f"template: :1: can't give argument to non-function {key}")
        return value, key

    def _arg(self, a: Any, dot: Any, env: dict[str, Any]) -> tuple[Any, str]:
        if isinstance(a, Pipeline):
            return self._pipe(a, dot, env)
        if a.kind == "field":
            return self._walk(dot, a.value, a.pos, "." + ".".join(a.value))
        if a.kind == "var":
            name, chain = a.value
            if name not in env:
                raise TemplateError(f'template: :1: undefined variable "{name}"')
            return self._walk(env[name], chain, a.pos, name + "".join("." + c for c in chain))
        return a.value, ""

    def _walk(self, v: Any, chain: list[str], pos: int, text: str) -> tuple[Any, str]:
        key = ""
        for name in chain:
            if isinstance(v, dict):
                if name not in v:
                    if self.strict:
                        raise self._fail(pos, text, f'map has no entry for key "{name}"')
                    return _MISSING, name
                v = v[name]
            elif v is None or v is _MISSING:
                raise self._fail(pos, text, f"nil pointer evaluating interface {{}}.{name}")
            else:
                raise self._fail(pos, text, f"can't evaluate field {name} in type {type(v)}")
            key = name
        return v, key


class _Missing:
    def __repr__(self) -> str:
        return "<no value>"


_MISSING: Any = _Missing()


def render(src: str, data: Any, strict: bool = True) -> str:
    return Template(src, strict).execute(data)
