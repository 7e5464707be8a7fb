"""COPY and ADD flags as data: ``--chmod`` (octal or symbolic), ``--exclude`` patterns,
``--parents``, ``--link``, ``--checksum``, ``--keep-git-dir``.  Pure (no disk).

``--chmod`` in symbolic form (``u+x,g=r,o-w``, ``a=rX``, ``+x``) is applied to each
source's own mode as chmod(1) does, with no umask: a bare ``+x`` means ``a+x``; ``X`` sets
execute only for directories and for files that already have an execute bit.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from cove.build.dockerfile.parser import Node, ParseError
from cove.errors import InvalidArgument
from cove.util.dockerignore import Matcher

_CLAUSE = re.compile(r"^([ugoa]*)([-+=])([rwxXst]*|[ugo])$")
_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}  # the bits (with special) each class owns
_PERM = {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000}


@dataclass(frozen=True)
class Chmod:
    text: str
    octal: int | None = None

    def apply(self, mode: int, is_dir: bool = False) -> int:
        """The mode an entry gets, from its source mode."""
        if self.octal is not None:
            return self.octal
        mode &= 0o7777
        for clause in self.text.split(","):
            m = _CLAUSE.match(clause)
            assert m is not None  # checked by parse_chmod
            who, op, perms = m.group(1) or "a", m.group(2), m.group(3)
            mask = 0
            for w in "ugo" if "a" in who else who:
                mask |= _WHO[w]
            bits = self._bits(perms, mode, is_dir) & mask
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~mask) | bits
        return mode

    @staticmethod
    def _bits(perms: str, mode: int, is_dir: bool) -> int:
        if perms in ("u", "g", "o"):  # copy another class's bits (g=u)
            shift = {"u": 6, "g": 3, "o": 0}[perms]
            rwx = (mode >> shift) & 0o7
            return rwx * 0o111
        bits = 0
        for p in perms:
            if p == "X":
                if is_dir or mode & 0o111:
                    bits |= 0o111
            else:
                bits |= _PERM[p]
        return bits


def parse_chmod(value: str) -> Chmod:
    if re.fullmatch(r"[0-7]{1,4}", value):
        return Chmod(value, int(value, 8))
    if value and all(_CLAUSE.match(c) for c in value.split(",")):
        return Chmod(value)
    raise InvalidArgument(f"invalid chmod parameter: {value}")


@dataclass
class CopyFlags:
    chown: str = ""
    chmod: str = ""
    source: str = ""  # --from
    link: bool = False
    parents: bool = False
    excludes: list[str] = field(default_factory=list)
    checksum: str = ""
    keep_git_dir: bool = False

    def matcher(self) -> Matcher | None:
        if not self.excludes:
            return None
        try:
            return Matcher.from_text("\n".join(self.excludes))
        except ValueError as e:
            raise InvalidArgument(f"invalid --exclude pattern: {e}") from None


def _bool(node: Node, name: str, value: str) -> bool:
    v = value.lower()
    if v in ("true", "1", ""):
        return True
    if v in ("false", "0"):
        return False
    raise ParseError(node.line, f"expecting boolean value for flag {name}, not: {value}")


def copy_flags(node: Node) -> CopyFlags:
    """The flags of a COPY/ADD node (already checked by ``instructions.parse_flags``);
    ``--exclude`` may repeat."""
    out = CopyFlags()
    for f in node.flags:
        name, eq, value = f[2:].partition("=")
        if name == "exclude":
            out.excludes.append(value)
        elif name == "chown":
            out.chown = value
        elif name == "chmod":
            out.chmod = value
        elif name == "from":
            out.source = value
        elif name == "checksum":
            out.checksum = value
        elif name in ("link", "parents", "keep-git-dir"):
            setattr(out, name.replace("-", "_"), _bool(node, name, value if eq else "true"))
    return out


def parents_base(pattern: str) -> str:
    """The part of a ``--parents`` source that is not kept: everything before a ``/./``
    pivot (``a/./b/c`` keeps ``b/c``), nothing when there is no pivot."""
    norm = pattern.replace("\\", "/")
    if norm.startswith("./"):
        norm = norm[2:]
    if "/./" not in norm:
        return ""
    base = posixpath.normpath(norm.split("/./", 1)[0]).lstrip("/")
    return "" if base == "." else base
