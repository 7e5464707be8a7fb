"""The Dockerfile parser: text -> a list of instruction nodes, as Docker's own parser.

Pure (no disk).  What it does, in Docker's order: parser directives at the very top
(``# escape=``, ``# syntax=``, ``# check=``), comments, line continuations with the escape
character (comment and blank lines inside a continuation are skipped), heredocs for RUN,
COPY and ADD, ``--flags`` before the arguments, and per-instruction argument shapes (JSON
array or shell string, ``key=value`` lists, whitespace-separated words).  Errors carry the
line number; nothing here expands variables (see ``shell.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from cove.build.dockerfile.heredoc import chomp as chomp_tabs
from cove.build.dockerfile.heredoc import openers
from cove.build.dockerfile.words import extract_flags, parse_words
from cove.errors import InvalidArgument

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_WS = re.compile(r"[\t\v\f\r ]+")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")
HEREDOC_INSTRUCTIONS = ("run", "copy", "add")


class ParseError(InvalidArgument):
    """A Dockerfile that Docker's parser rejects; the message names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"Dockerfile parse error line {line}: {message}")
        self.line = line
        self.detail = message


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool  # unquoted terminator: variables in the body are expanded
    chomp: bool  # "<<-": leading tabs are stripped from the body's lines

    def text(self) -> str:
        """The body as the instruction uses it (tabs removed for ``<<-``)."""
        return chomp_tabs(self.content) if self.chomp else self.content


@dataclass
class Node:
    """One instruction.  ``args`` are the argument strings in Docker's AST order (for ENV
    and LABEL: key, value, separator triples); ``json`` says an exec-form array was given;
    ``sub`` is the instruction wrapped by ONBUILD."""

    cmd: str  # lower case
    original: str
    line: int
    end_line: int
    flags: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    json: bool = False
    sub: Node | None = None
    heredocs: list[Heredoc] = field(default_factory=list)
    rest: str = ""  # the raw text after the flags

    def dump(self) -> str:
        """Docker's AST dump: ``(cmd ["--flag"] "arg" ...)``."""
        s = self.cmd
        if self.flags:
            s += " [" + " ".join(go_quote(f) for f in self.flags) + "]"
        if self.sub is not None:
            s += " (" + self.sub.dump() + ")"
        for a in self.args:
            s += " " + go_quote(a)
        return s.strip()


@dataclass
class Dockerfile:
    nodes: list[Node]
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)


def go_quote(s: str) -> str:
    """Go's strconv.Quote, for the AST dump."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])  # fmt: skip
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o < 0x80 or ch.isprintable():
            out.append(ch)
        elif o <= 0xFFFF:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


class _Lines:
    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
        self.lines = [ln[:-1] if ln.endswith("\r") else ln for ln in raw]
        self.pos = 0

    def next(self) -> str | None:
        if self.pos >= len(self.lines):
            return None
        self.pos += 1
        return self.lines[self.pos - 1]


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    found: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line)
        if not m:
            return found, i
        key = m.group(1).lower()
        if key not in _KNOWN_DIRECTIVES:
            return found, i
        if key in found:
            raise ParseError(i + 1, f"only one {key} parser directive can be used")
        found[key] = m.group(2)
    return found, len(lines)


def parse(text: str) -> Dockerfile:
    src = _Lines(text)
    directives, _ = _directives(src.lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise ParseError(1, f"invalid escape token '{escape}' does not match ` or \\")
    # an escape at the end continues the line, unless itself escaped
    e = re.escape(escape)
    cont = re.compile(rf"(^|[^{e}]){e}[ \t]*$")

    def trim_cont(s: str) -> tuple[str, bool]:
        m = cont.search(s)
        return (s[: m.start()] + m.group(1), False) if m else (s, True)

    nodes: list[Node] = []
    while (raw := src.next()) is not None:
        start = src.pos
        if _is_comment(raw):
            continue
        line, done = trim_cont(raw.lstrip(" \t"))
        if done and not line.strip():
            continue
        while not done:
            more = src.next()
            if more is None:
                break
            if _is_comment(more):
                continue
            if not more.strip(" \t"):
                continue
            piece, done = trim_cont(more)
            line += piece
        node = node_from_line(line, start, src.pos, escape)
        if node.cmd in HEREDOC_INSTRUCTIONS:
            node.heredocs = _read_heredocs(node, src)
            node.end_line = src.pos
        elif node.sub is not None and node.sub.cmd in HEREDOC_INSTRUCTIONS:
            node.sub.heredocs = _read_heredocs(node.sub, src)  # ONBUILD RUN <<EOF
            node.end_line = node.sub.end_line = src.pos
        nodes.append(node)
    if not nodes:
        raise InvalidArgument("file with no instructions")
    return Dockerfile(nodes, escape, directives)


def trigger_text(node: Node) -> str:
    """What ONBUILD records: the instruction after ONBUILD, with its heredoc bodies and
    terminators (on their own lines) so the trigger runs whole in a child build."""
    text = node.original.split(None, 1)[1].strip()
    for h in node.sub.heredocs if node.sub is not None else []:
        text += "\n" + h.content + h.name
    return text


def trigger_node(text: str, line: int, escape: str = "\\") -> Node:
    """An ONBUILD trigger as a node (``trigger_text``'s heredocs read back)."""
    if "\n" not in text:
        return node_from_line(text, line, line, escape)
    src = _Lines(text)
    first = src.next() or ""
    node = node_from_line(first, line, line, escape)
    if node.cmd in HEREDOC_INSTRUCTIONS:
        node.heredocs = _read_heredocs(node, src)
    return node


def _read_heredocs(node: Node, src: _Lines) -> list[Heredoc]:
    if node.json:
        return []
    out: list[Heredoc] = []
    for op in openers(node.original):
        name, chomp = op.name, op.chomp
        body: list[str] = []
        while True:
            line = src.next()
            if line is None:
                raise ParseError(node.line, f"unterminated heredoc {name}")
            check = line.lstrip("\t") if chomp else line
            if check == name:
                break
            body.append(line)
        content = "".join(b + "\n" for b in body)
        out.append(Heredoc(name, content, expand=op.expand, chomp=chomp))
    return out


def node_from_line(line: str, start: int, end: int, escape: str = "\\") -> Node:
    parts = _WS.split(line.strip(" \t\v\f\r\n"), maxsplit=1)
    cmd = parts[0].lower()
    rest, flags = extract_flags(parts[1]) if len(parts) == 2 else ("", [])
    node = Node(cmd, line.strip(), start, end, flags, rest=rest)
    try:
        _fill(node, rest, escape)
    except InvalidArgument as e:
        raise ParseError(start, str(e)) from None
    return node


def _parse_json(rest: str) -> list[str] | None:
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        # Docker decodes the first JSON value and ignores what follows it
        value, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise InvalidArgument(
            "when using JSON array syntax, arrays must be comprised of strings only"
        )
    return value


def _words_ws(rest: str) -> list[str]:
    rest = rest.strip(" \t\v\f\r\n")
    return _WS.split(rest) if rest else []


def _fill(node: Node, rest: str, escape: str) -> None:
    cmd = node.cmd
    if cmd in ("cmd", "entrypoint", "run", "shell"):
        _maybe_json(node, rest)
    elif cmd in ("add", "copy", "volume"):
        arr = _parse_json(rest)
        if arr is not None:
            node.args, node.json = arr, True
        else:
            node.args = _words_ws(rest)
    elif cmd in ("expose", "from"):
        node.args = _words_ws(rest)
    elif cmd in ("maintainer", "stopsignal", "user", "workdir"):
        if rest.strip():
            node.args = [rest.strip()]
    elif cmd in ("env", "label"):
        node.args = _name_val(rest, cmd.upper(), escape)
    elif cmd == "arg":
        node.args = parse_words(rest, escape)
    elif cmd == "healthcheck":
        _health(node, rest)
    elif cmd == "onbuild" and rest.strip():
        node.sub = node_from_line(rest, node.line, node.end_line, escape)
    # unknown instructions parse to nothing; the instruction layer rejects them


def _maybe_json(node: Node, rest: str) -> None:
    if not rest:
        return
    arr = _parse_json(rest)
    if arr is not None:
        node.args, node.json = arr, True
    else:
        node.args = [rest.lstrip()]


def _health(node: Node, rest: str) -> None:
    rest = rest.lstrip()
    m = re.match(r"\S+", rest)
    if not m:
        return
    node.args = [m.group(0)]
    tail = rest[m.end() :].lstrip()
    if tail:
        arr = _parse_json(tail)
        if arr is not None:
            node.args += arr
            node.json = True
        else:
            node.args.append(tail)


def _name_val(rest: str, key: str, escape: str) -> list[str]:
    words = parse_words(rest, escape)
    if not words:
        if key == "ENV":
            raise InvalidArgument("ENV names can not be blank")
        return []
    if "=" not in words[0]:
        parts = _WS.split(rest.strip(" \t\v\f\r\n"), maxsplit=1)
        if len(parts) < 2:
            raise InvalidArgument(f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for w in words:
        if "=" not in w:
            raise InvalidArgument(
                f"Syntax error - can't find = in {w!r}. Must be of the form: name=value"
            )
        k, _, v = w.partition("=")
        out += [k, v, "="]
    return out
