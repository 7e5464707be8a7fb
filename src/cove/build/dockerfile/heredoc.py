"""Which words of an instruction line open a heredoc, as BuildKit's parser decides.

BuildKit splits the line into words with its shell lexer in "raw" mode (quotes and escapes
kept, variables left as written) and takes a word as a heredoc opener when the whole word
reads ``[digits]<<[-]NAME``.  So ``cat <<EOF`` and ``cat 2<<EOF`` open one, ``cat<<EOF``,
``"<<EOF"`` and ``<< EOF`` do not, and ``<<EOF>out`` names a heredoc ``EOF>out``.  The name
is the word with its quotes and escapes removed; any quoting in it (``<<"EOF"``,
``<<'EOF'``, ``<<E"O"F``) means the body is taken literally, without expansion.  ``<<-``
strips leading tabs from the body's lines (and from the terminator line).

Pure: text in, data out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENER = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


@dataclass(frozen=True)
class Opener:
    name: str
    expand: bool
    chomp: bool


def chomp(text: str) -> str:
    """A ``<<-`` body: leading tabs removed from every line."""
    return _LEADING_TABS.sub("", text)


def raw_words(line: str) -> list[str]:
    """Unquoted-white-space separated words with quotes, escapes and ``$...`` kept as
    written.  An unterminated quote or ``${`` yields no words (BuildKit's lexer errors
    there and the parser then finds no heredoc)."""
    out: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch.isspace():
            if in_word:
                out.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if ch == "\\":
            word.append(line[i : i + 2])
            i += 2
        elif ch in "'\"":
            end = _quote_end(line, i)
            if end < 0:
                return []
            word.append(line[i : end + 1])
            i = end + 1
        elif ch == "$" and line.startswith("${", i):
            end = line.find("}", i)
            if end < 0:
                return []
            word.append(line[i : end + 1])
            i = end + 1
        else:
            word.append(ch)
            i += 1
    if in_word:
        out.append("".join(word))
    return out


def _quote_end(s: str, start: int) -> int:
    q = s[start]
    i = start + 1
    while i < len(s):
        if s[i] == "\\" and q == '"':
            i += 2
            continue
        if s[i] == q:
            return i
        i += 1
    return -1


def _unquote(word: str) -> tuple[str, int]:
    """The word with quotes and escapes removed, and how many quote characters were
    removed (BuildKit compares quote counts to tell a quoted name)."""
    out: list[str] = []
    removed = 0
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == "\\" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
        elif ch in "'\"":
            end = _quote_end(word, i)
            inner = word[i + 1 : end]
            if ch == '"':
                inner = re.sub(r"\\([\"\\$])", r"\1", inner)
            out.append(inner)
            removed += 2
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), removed


def opener(word: str) -> Opener | None:
    """The heredoc a single (raw) word opens, or None."""
    m = _OPENER.match(word)
    if not m or not m.group(3):
        return None
    rest = m.group(3)
    parts = raw_words(rest)
    if len(parts) != 1:
        return None
    name, removed = _unquote(parts[0])
    if not name:
        return None
    # an escaped name (``<<\\EOF``) still expands: BuildKit only counts quotes
    return Opener(name, expand=removed == 0, chomp=m.group(2) == "-")


def openers(line: str) -> list[Opener]:
    """Every heredoc the line opens, in order."""
    if "<<" not in line:
        return []
    return [o for w in raw_words(line) if (o := opener(w)) is not None]
