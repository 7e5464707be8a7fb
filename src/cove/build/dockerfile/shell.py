"""Variable expansion and word splitting with the rules of Docker's shell lexer.

Docker's set of forms — ``$v``, ``${v}``, ``${v:-w}``, ``${v:+w}``, ``${v?msg}``,
``${v:?msg}`` (positional and special parameters are never set) — single quotes literal,
double quotes expanding,
the escape character (``\\`` or the ``# escape=`` one) quoting the next character, and
unset variables expanding to nothing.  ``words`` also splits the result into words the way
the builder splits an unquoted expansion.
"""

from __future__ import annotations

from collections.abc import Mapping

from cove.errors import InvalidArgument

_SPECIAL = "@*#?-$!0"


class ExpandError(InvalidArgument):
    pass


class _Words:
    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word, self.in_word = "", False
        else:
            self.raw(ch)

    def raw(self, s: str) -> None:
        self.word += s
        self.in_word = True

    def string(self, s: str) -> None:
        for ch in s:
            self.char(ch)

    def done(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word, self.in_word = "", False
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, quotes: bool) -> None:
        self.s = text
        self.i = 0
        self.env = env
        self.esc = escape
        self.quotes = quotes

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.i += 1
        return ch

    def stop_on(self, stop: str) -> tuple[str, list[str]]:
        out: list[str] = []
        words = _Words()
        while self.peek():
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(out), words.done()
            if ch == "$":
                v = self.dollar()
                out.append(v)
                words.string(v)
            elif self.quotes and ch in "'\"":
                v = self.single() if ch == "'" else self.double()
                out.append(v)
                words.raw(v)
            else:
                ch = self.next()
                if ch == self.esc:
                    ch = self.next()
                    if not ch:
                        break
                    words.raw(ch)
                else:
                    words.char(ch)
                out.append(ch)
        if stop:
            raise ExpandError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out), words.done()

    def single(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.next()
            if not ch:
                raise ExpandError(
                    "unexpected end of statement while looking for matching single-quote"
                )
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def double(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise ExpandError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.esc:
                nxt = self.peek()
                if not nxt:
                    continue
                if nxt in ('"', "$", self.esc):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        ch = self.peek()
        if ch.isdigit():
            start = self.i
            while self.peek().isdigit():
                self.next()
            return self.s[start : self.i]
        if ch and ch in _SPECIAL:
            return self.next()
        start = self.i
        while (c := self.peek()) and (c.isalnum() or c == "_"):
            self.next()
        return self.s[start : self.i]

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return self.lookup(name)[0] if name else "$"
        self.next()
        ch = self.peek()
        if not ch:
            raise ExpandError("syntax error: missing '}'")
        if ch in "{}:":
            raise ExpandError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        if ch == "}":
            return self.lookup(name)[0]
        if ch == "?":
            word = self._word()
            value, found = self.lookup(name)
            if not found:
                raise ExpandError(f"{name}: {word or 'is not allowed to be unset'}")
            return value
        if ch == ":":
            mod = self.next()
            word = self._word()
            value, found = self.lookup(name)
            if mod == "+":
                return word if value else value
            if mod == "-":
                return value or word
            if mod == "?":
                if not found:
                    raise ExpandError(f"{name}: {word or 'is not allowed to be unset'}")
                if not value:
                    raise ExpandError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            raise ExpandError(f"unsupported modifier ({mod}) in substitution")
        if not ch:
            raise ExpandError("syntax error: missing '}'")
        raise ExpandError("missing ':' in substitution")

    def _word(self) -> str:
        try:
            return self.stop_on("}")[0]
        except ExpandError:
            if not self.peek():
                raise ExpandError("syntax error: missing '}'") from None
            raise


def expand(text: str, env: Mapping[str, str], escape: str = "\\", quotes: bool = True) -> str:
    """One word: variables substituted, quotes and escapes removed."""
    return _Lexer(text, env, escape, quotes).stop_on("")[0]


def words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand and split into words: unquoted white space (also from a variable) splits."""
    return _Lexer(text, env, escape, True).stop_on("")[1]
