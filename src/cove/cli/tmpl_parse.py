"""Parse the subset of Go's ``text/template`` that docker users write in ``--format``.

Supported: text, ``{{pipeline}}`` with ``|``, fields (``.A.B``), variables (``$``, ``$x.A``,
``$x := ...``), string/number/bool/nil literals, parenthesised pipelines, function calls,
``if``/``else if``/``else``/``end``, ``range`` (with ``$i, $v :=``), ``with``, comments and
``{{-``/``-}}`` trimming.  The tree is plain tuples and small classes; ``tmpl`` runs it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_SPACE = " \t\r\n"


class TemplateError(Exception):
    pass


class Tok:
    __slots__ = ("kind", "pos", "value")

    def __init__(self, kind: str, value: Any, pos: int) -> None:
        self.kind = kind  # field var string number bool nil ident pipe ( ) := = ,
        self.value = value
        self.pos = pos


class Pipeline:
    __slots__ = ("cmds", "decl", "pos")

    def __init__(self, decl: list[str], cmds: list[list[Tok | Pipeline]], pos: int) -> None:
        self.decl = decl
        self.cmds = cmds
        self.pos = pos


class Block:
    """``if``/``range``/``with``: ``body`` runs when the pipeline holds, ``orelse`` otherwise."""

    __slots__ = ("body", "kind", "orelse", "pipe")

    def __init__(self, kind: str, pipe: Pipeline) -> None:
        self.kind = kind
        self.pipe = pipe
        self.body: list[Node] = []
        self.orelse: list[Node] = []


Node = str | Pipeline | Block


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "0": "\0"}  # fmt: skip


def _unquote(raw: str) -> str:
    """The body of a Go double-quoted string literal."""
    out = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c != "\\" or i + 1 >= len(raw):
            out.append(c)
            i += 1
            continue
        e = raw[i + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width:
            out.append(chr(int(raw[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            out.append(_ESCAPES.get(e, "\\" + e))
            i += 2
    return "".join(out)


def _chain(text: str) -> list[str]:
    return [p for p in text.split(".") if p]


def lex_action(src: str, base: int) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        pos = base + i
        if c in _SPACE:
            i += 1
        elif c in "|(),":
            toks.append(Tok({"|": "pipe"}.get(c, c), c, pos))
            i += 1
        elif src.startswith(":=", i):
            toks.append(Tok(":=", ":=", pos))
            i += 2
        elif c == "=":
            toks.append(Tok("=", "=", pos))
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise TemplateError("unterminated quoted string")
            raw = src[i + 1 : j]
            toks.append(Tok("string", _unquote(raw), pos))
            i = j + 1
        elif c == "`":
            j = src.find("`", i + 1)
            if j < 0:
                raise TemplateError("unterminated raw quoted string")
            toks.append(Tok("string", src[i + 1 : j], pos))
            i = j + 1
        else:
            j = i
            while j < n and src[j] not in _SPACE and src[j] not in '|(),"`' and src[j] != "=":
                if src.startswith(":=", j):
                    break
                j += 1
            word = src[i:j]
            i = j
            if word.startswith("."):
                toks.append(Tok("field", _chain(word), pos))
            elif word.startswith("$"):
                name, _, rest = word.partition(".")
                toks.append(Tok("var", (name, _chain(rest)), pos))
            elif word in ("true", "false"):
                toks.append(Tok("bool", word == "true", pos))
            elif word == "nil":
                toks.append(Tok("nil", None, pos))
            elif word[:1].isdigit() or (word[:1] in "+-" and word[1:2].isdigit()):
                try:
                    toks.append(Tok("number", int(word, 0), pos))
                except ValueError:
                    try:
                        toks.append(Tok("number", float(word), pos))
                    except ValueError:
                        raise TemplateError(f"bad number syntax: {word!r}") from None
            elif word.replace("_", "a").isalnum():
                toks.append(Tok("ident", word, pos))
            else:
                raise TemplateError(f"unexpected {word!r} in command")
    return toks


def parse_pipeline(toks: list[Tok], pos: int) -> Pipeline:
    decl: list[str] = []
    k = 0

    def plain_var(t: Tok) -> bool:
        return t.kind == "var" and not t.value[1]

    kinds = [t.kind for t in toks[:4]]
    if len(toks) > 1 and plain_var(toks[0]) and kinds[1] in (":=", "="):
        decl, k = [toks[0].value[0]], 2
    elif len(toks) > 3 and plain_var(toks[0]) and plain_var(toks[2]) and kinds[1] == ",":
        decl, k = ([toks[0].value[0], toks[2].value[0]], 4) if kinds[3] in (":=", "=") else ([], 0)
    cmds: list[list[Tok | Pipeline]] = [[]]
    while k < len(toks):
        t = toks[k]
        if t.kind == "pipe":
            if not cmds[-1]:
                raise TemplateError("missing command")
            cmds.append([])
            k += 1
        elif t.kind == "(":
            depth, j = 1, k + 1
            while j < len(toks) and depth:
                depth += {"(": 1, ")": -1}.get(toks[j].kind, 0)
                j += 1
            if depth:
                raise TemplateError("unclosed left paren")
            cmds[-1].append(parse_pipeline(toks[k + 1 : j - 1], t.pos))
            k = j
        elif t.kind == ")":
            raise TemplateError("unexpected right paren")
        else:
            cmds[-1].append(t)
            k += 1
    if not cmds[-1]:
        raise TemplateError("missing value for command")
    return Pipeline(decl, cmds, pos)


def _actions(src: str) -> list[tuple[str, str, int]]:
    """Split into ("text", s, 0) and ("action", inner, offset) with trim markers applied."""
    out: list[tuple[str, str, int]] = []
    i = 0
    trim_next = False
    while True:
        j = src.find("{{", i)
        text = src[i:] if j < 0 else src[i:j]
        if trim_next:
            text = text.lstrip(_SPACE)
        if j < 0:
            out.append(("text", text, 0))
            return out
        k = j + 2
        if src.startswith("-", k) and src[k + 1 : k + 2] in tuple(_SPACE):
            text = text.rstrip(_SPACE)
            k += 1
        out.append(("text", text, 0))
        end = k
        quote = ""
        while end < len(src):
            c = src[end]
            if quote:
                if c == "\\" and quote == '"':
                    end += 1
                elif c == quote:
                    quote = ""
            elif c in '"`':
                quote = c
            elif src.startswith("}}", end):
                break
            end += 1
        else:
            raise TemplateError("unclosed action")
        inner = src[k:end]
        trim_next = False
        if inner.endswith(" -") or (len(inner) > 1 and inner[-1] == "-" and inner[-2] in _SPACE):
            inner = inner[:-1]
            trim_next = True
        out.append(("action", inner, k))
        i = end + 2


def parse(src: str) -> list[Node]:
    root: list[Node] = []
    stack: list[tuple[Block, list[Node]]] = []
    current = root
    for kind, inner, off in _actions(src):
        if kind == "text":
            if inner:
                current.append(inner)
            continue
        stripped = inner.strip()
        if stripped.startswith("/*"):
            continue
        toks = lex_action(inner, off)
        if not toks:
            raise TemplateError("missing value for command")
        head = toks[0]
        word = head.value if head.kind == "ident" else None
        if word in ("if", "range", "with"):
            block = Block(word, parse_pipeline(toks[1:], head.pos))
            current.append(block)
            stack.append((block, current))
            current = block.body
        elif word == "else":
            if not stack:
                raise TemplateError("unexpected {{else}}")
            block, parent = stack[-1]
            if len(toks) > 1 and toks[1].kind == "ident" and toks[1].value == "if":
                nested = Block("if", parse_pipeline(toks[2:], toks[1].pos))
                block.orelse.append(nested)
                stack[-1] = (nested, parent)  # one {{end}} closes the whole chain
                current = nested.body
            else:
                current = block.orelse
        elif word == "end":
            if not stack:
                raise TemplateError("unexpected {{end}}")
            _, current = stack.pop()
        elif word in ("define", "template", "block"):
            raise TemplateError(f"{{{{{word}}}}} is not supported")
        else:
            current.append(parse_pipeline(toks, head.pos))
    if stack:
        raise TemplateError(f"unexpected EOF in {stack[-1][0].kind}")
    return root
