"""Word scanners of Docker's parser: leading ``--flags`` and quote-aware word lists.

Both keep the text as written (quotes and escapes stay in the words); removing them is the
expander's job, later, with the build's variables.
"""

from __future__ import annotations


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Split ``--a=1 --b "x y" rest`` into (rest, flags); ``--`` ends the flags.

    Docker scans this part byte by byte, so a non-ASCII character in a flag comes out as
    its UTF-8 bytes read as Latin-1; we do the same to parse what Docker parses."""
    raw = line.encode("utf-8", "surrogateescape").decode("latin-1")
    rest, flags = _extract_flags(raw)
    return rest.encode("latin-1").decode("utf-8", "surrogateescape"), flags


def _extract_flags(line: str) -> tuple[str, list[str]]:
    words: list[str] = []
    word = ""
    blank_ok = False
    quote = ""
    phase = "space"
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == "space":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = "word"
        if pos == n:
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == "word":
            if ch.isspace():
                phase = "space"
                if word == "--":
                    return line[pos:].lstrip(), words
                if blank_ok or word:
                    words.append(word)
                word, blank_ok = "", False
                pos += 1
                continue
            if ch in "'\"":
                quote, blank_ok, phase = ch, True, "quote"
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word += ch
            pos += 1
            continue
        # in a quote
        if ch == quote:
            phase = "word"
            pos += 1
            continue
        if ch == "\\":
            if pos + 1 == n:
                phase = "word"
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word += ch
        pos += 1
    return "", words


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """Words separated by white space outside quotes; quotes and escapes are kept."""
    words: list[str] = []
    word = ""
    blank_ok = False
    quote = ""
    phase = "space"
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == "space":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            phase = "word"
        if pos == n:
            if blank_ok or word:
                words.append(word)
            break
        if phase == "word":
            if ch.isspace():
                phase = "space"
                if blank_ok or word:
                    words.append(word)
                word, blank_ok = "", False
                pos += 1
                continue
            if ch in "'\"":
                quote, blank_ok, phase = ch, True, "quote"
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word += ch
                pos += 1
                ch = rest[pos]
            word += ch
            pos += 1
            continue
        if ch == quote:
            phase = "word"
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = "word"
                pos += 1
                continue
            pos += 1
            word += ch
            ch = rest[pos]
        word += ch
        pos += 1
    return words
