"""Go's ``json.Indent``: re-indent raw JSON text without re-encoding it.

``inspect`` prints the daemon's bytes re-indented, exactly as docker does, so strings keep
their escapes and numbers their spelling.  Empty arrays and objects stay ``[]`` and ``{}``.
"""

from __future__ import annotations


def indent(raw: str, step: str = "    ") -> str:
    out: list[str] = []
    depth = 0
    i = 0
    n = len(raw)
    need_indent = False  # just opened a bracket: indent before the next value unless it closes
    while i < n:
        c = raw[i]
        if c in " \t\r\n":
            i += 1
            continue
        if need_indent and c not in "]}":
            out.append("\n" + step * depth)
        need_indent = False
        if c == '"':
            j = i + 1
            while j < n and raw[j] != '"':
                j += 2 if raw[j] == "\\" else 1
            out.append(raw[i : j + 1])
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            out.append(c)
            need_indent = True
        elif c in "]}":
            depth -= 1
            if out and out[-1] not in "[{":
                out.append("\n" + step * depth)
            out.append(c)
        elif c == ",":
            out.append(",\n" + step * depth)
        elif c == ":":
            out.append(": ")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def join_indented(raws: list[str], step: str = "    ") -> str:
    """Several raw documents as one indented array (``inspect a b``)."""
    if not raws:
        return "[]"
    return indent("[" + ",".join(r.strip() for r in raws) + "]", step)
