"""Instruction-level checks on parsed nodes: known instructions, allowed ``--flags``,
argument counts, ONBUILD's exclusions.  Pure; errors name the line."""

from __future__ import annotations

from cove.build.dockerfile.parser import Node, ParseError

FLAGS: dict[str, tuple[str, ...]] = {
    "from": ("platform",),
    "copy": ("from", "chown", "chmod", "link", "parents", "exclude"),
    "add": ("chown", "chmod", "checksum", "keep-git-dir", "link", "exclude"),
    "run": ("mount", "network", "security"),
    "healthcheck": ("interval", "timeout", "start-period", "start-interval", "retries"),
}
INSTRUCTIONS = (
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
    "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume",
    "workdir",
)  # fmt: skip
_BOOL_FLAGS = ("link", "parents", "keep-git-dir")


def parse_flags(node: Node) -> dict[str, str]:
    """``--name=value`` flags of a node, checked against what the instruction accepts."""
    allowed = FLAGS.get(node.cmd, ())
    out: dict[str, str] = {}
    for f in node.flags:
        name, eq, value = f[2:].partition("=")
        if name not in allowed:
            raise ParseError(node.line, f"Unknown flag: {name}")
        if not eq and name not in _BOOL_FLAGS:
            raise ParseError(node.line, f"Missing a value on flag: {name}")
        if name in out and name not in ("exclude", "mount"):
            raise ParseError(node.line, f"Duplicate flag specified: {name}")
        out[name] = value if eq else "true"
    return out


def check(node: Node, in_onbuild: bool = False) -> None:
    c = node.cmd
    up = c.upper()
    if c not in INSTRUCTIONS:
        raise ParseError(node.line, f"unknown instruction: {node.original.split()[0].upper()}")
    parse_flags(node)
    if c == "onbuild":
        if node.sub is None:
            raise ParseError(node.line, "ONBUILD requires at least one argument")
        sub = node.sub.cmd
        if sub == "onbuild":
            raise ParseError(node.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if sub in ("from", "maintainer"):
            raise ParseError(node.line, f"{sub.upper()} isn't allowed as an ONBUILD trigger")
        check(node.sub, in_onbuild=True)
        return
    n = len(node.args)
    if c in ("add", "copy") and n < 2 and not (node.heredocs and n >= 1):
        raise ParseError(node.line, f"{up} requires at least two arguments, but only {n} provided")
    if c == "from" and n not in (1, 3):
        raise ParseError(node.line, "FROM requires either one or three arguments")
    if c == "from" and n == 3 and node.args[1].lower() != "as":
        raise ParseError(node.line, "FROM requires either one or three arguments")
    if c in ("user", "workdir", "stopsignal", "maintainer") and n != 1:
        raise ParseError(node.line, f"{up} requires exactly one argument")
    if c in ("run", "expose", "volume", "label", "arg") and n == 0 and not node.json:
        raise ParseError(node.line, f"{up} requires at least one argument")
    if c == "shell":
        if not node.json:
            raise ParseError(node.line, "SHELL requires the arguments to be in JSON form")
        if n == 0:
            raise ParseError(node.line, "SHELL requires at least one argument")
    if c == "healthcheck" and n:
        kind = node.args[0].upper()
        if kind not in ("CMD", "NONE"):
            raise ParseError(node.line, f"Unknown type {kind!r} in HEALTHCHECK (try CMD)")
        if kind == "NONE" and n > 1:
            raise ParseError(node.line, "HEALTHCHECK NONE takes no arguments")
        if kind == "CMD" and n == 1:
            raise ParseError(node.line, "Missing command after HEALTHCHECK CMD")
    if c == "healthcheck" and not n:
        raise ParseError(node.line, "HEALTHCHECK requires an argument")
