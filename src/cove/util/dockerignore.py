"""``.dockerignore`` patterns with Docker's rules (pure; shared by the CLI and the builder).

A line is a pattern (``#`` lines and blank lines are skipped); ``!`` makes it an exception.
Patterns are cleaned like paths and anchored at the context root; ``*`` and ``?`` stay
within one path element, ``**`` spans any number of them, ``[...]`` and ``\\`` escapes work
as in Go's filepath.Match.  A path is excluded when the last pattern that matches it (or one
of its parent directories) is not an exception.
"""

from __future__ import annotations

import posixpath
import re
from typing import NamedTuple


class Pattern(NamedTuple):
    text: str
    exclusion: bool
    regex: re.Pattern[str]


def _compile(pat: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        ch = pat[i]
        if ch == "*":
            if pat.startswith("**", i):
                i += 2
                if pat.startswith("/", i):  # "**/" : zero or more directories
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = pat.find("]", i + 1)
            if j < 0:
                raise ValueError(f"syntax error in pattern {pat!r}")
            body = pat[i + 1 : j]
            if body.startswith("^"):
                body = "!" + body[1:]
            if body.startswith("!"):
                body = "^" + re.escape(body[1:]).replace("\\-", "-")
            else:
                body = re.escape(body).replace("\\-", "-")
            out.append(f"[{body}]")
            i = j
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def parse(text: str) -> list[Pattern]:
    out: list[Pattern] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excl = line.startswith("!")
        if excl:
            line = line[1:].strip()
            if not line:
                raise ValueError('illegal exclusion pattern: "!"')
        line = posixpath.normpath(line)
        if line.startswith("/") and len(line) > 1:
            line = line.lstrip("/")
        if line == ".":
            continue
        out.append(Pattern(line, excl, _compile(line)))
    return out


class Matcher:
    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exceptions = any(p.exclusion for p in patterns)

    @classmethod
    def from_text(cls, text: str) -> Matcher:
        return cls(parse(text))

    def excluded(self, path: str) -> bool:
        """``path`` is relative to the context root, with ``/`` separators."""
        path = posixpath.normpath(path).lstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
        matched = False
        for p in self.patterns:
            if any(p.regex.match(x) for x in prefixes):
                matched = not p.exclusion
        return matched

    def may_hold_exceptions(self, directory: str) -> bool:
        """Whether an excluded directory might still contain re-included paths: only then
        must a walker descend into it."""
        if not self.has_exceptions:
            return False
        d = directory.rstrip("/") + "/"
        return any(p.exclusion and (p.text.startswith(d) or "*" in p.text) for p in self.patterns)
