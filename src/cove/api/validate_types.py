"""The small type language of :mod:`cove.api.validate`, and JSON decoding with Go's rules.

Each kind checks a decoded JSON value against one Go type and raises ``InvalidArgument``
with the words of Go's ``encoding/json`` (``json: cannot unmarshal string into Go struct
field ContainerConfigWrapper.Env of type []string``).  Decoding keeps a number's literal
(Go tells ``number 1e40`` in its message), refuses ``NaN``/``Infinity`` (not JSON) and
limits nesting (Go stops at 10000 levels; Python's recursion at about 1000).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cove.errors import InvalidArgument

MAX_DEPTH = 512  # far deeper than any Engine API body; keeps every later walk shallow


class GoNumber(float):
    """A JSON number with a fraction or an exponent, remembering how it was written."""

    literal: str

    def __new__(cls, text: str) -> GoNumber:
        obj = super().__new__(cls, text)
        obj.literal = text
        return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _depth_ok(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Iterable[Any] = v.values()
        elif isinstance(v, list):
            children = v
        else:
            continue
        if depth > MAX_DEPTH:
            return False
        stack.extend((c, depth + 1) for c in children)
    return True


def _max_depth_error(data: bytes) -> InvalidArgument:
    first = next((chr(b) for b in data if b in b"[{"), "[")
    return InvalidArgument(f"invalid character '{first}' exceeded max depth")


def decode(data: bytes) -> Any:
    """JSON as Go's decoder reads it; InvalidArgument for what it would refuse."""
    try:
        value = json.loads(data, parse_float=GoNumber, parse_constant=_no_constant)
    except RecursionError:
        raise _max_depth_error(data) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise InvalidArgument(f"invalid JSON: {exc}") from None
    if not _depth_ok(value):
        raise _max_depth_error(data)
    return value


# --- kinds ---------------------------------------------------------------------------------
def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _literal(value: Any) -> str:
    return value.literal if isinstance(value, GoNumber) else repr(value)


@dataclass(frozen=True)
class At:
    """Where a value sits: the innermost Go struct and the field path from the top."""

    struct: str
    path: tuple[str, ...] = ()

    def fail(self, what: str, go: str) -> InvalidArgument:
        if not self.path:
            return InvalidArgument(f"json: cannot unmarshal {what} into Go value of type {go}")
        field = ".".join(self.path)
        return InvalidArgument(
            f"json: cannot unmarshal {what} into Go struct field {self.struct}.{field} of type {go}"
        )


def too_long(what: str, value: str, limit: int) -> InvalidArgument:
    shown = repr(value[:32]) + ("..." if len(value) > 32 else "")
    return InvalidArgument(f"invalid {what} {shown}: longer than {limit} bytes")


class Kind:
    go = "interface {}"

    def check(self, value: Any, at: At) -> None:
        raise NotImplementedError


class AnyValue(Kind):
    def check(self, value: Any, at: At) -> None:
        return None


class Str(Kind):
    """A Go string; ``max_len`` bounds what becomes a file or interface name."""

    go = "string"

    def __init__(self, max_len: int = 0, what: str = "") -> None:
        self.max_len = max_len
        self.what = what

    def check(self, value: Any, at: At) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise at.fail(_what(value), self.go)
        if self.max_len and len(value.encode()) > self.max_len:
            raise too_long(self.what, value, self.max_len)


class Bool(Kind):
    go = "bool"

    def check(self, value: Any, at: At) -> None:
        if value is not None and not isinstance(value, bool):
            raise at.fail(_what(value), self.go)


class Int(Kind):
    """A Go integer type: an integer literal within the type's range, nothing else."""

    def __init__(self, go: str, lo: int, hi: int) -> None:
        self.go, self.lo, self.hi = go, lo, hi

    def check(self, value: Any, at: At) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise at.fail(_what(value), self.go)
        if isinstance(value, float) or not self.lo <= value <= self.hi:
            raise at.fail(f"number {_literal(value)}", self.go)


class ListOf(Kind):
    def __init__(self, item: Kind, go: str = "") -> None:
        self.item = item
        self.go = go or f"[]{item.go}"

    def check(self, value: Any, at: At) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise at.fail(_what(value), self.go)
        for v in value:
            self.item.check(v, at)


class MapOf(Kind):
    """A map keyed by strings; ``limits`` bounds the length of chosen keys' values."""

    def __init__(
        self, value: Kind, go: str = "", limits: dict[str, tuple[int, str]] | None = None
    ) -> None:
        self.value = value
        self.go = go or f"map[string]{value.go}"
        self.limits = limits or {}

    def check(self, value: Any, at: At) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise at.fail(_what(value), self.go)
        for k, v in value.items():
            self.value.check(v, at)
            limit = self.limits.get(k)
            if limit is not None and isinstance(v, str) and len(v.encode()) > limit[0]:
                raise too_long(limit[1], v, limit[0])


class StrSlice(Kind):
    """Docker's strslice: a string or an array of strings; Go's decoder reports the
    string it tried last."""

    go = "string"

    def check(self, value: Any, at: At) -> None:
        if value is None or isinstance(value, str):
            return
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return
        raise at.fail(_what(value), self.go)


class Struct(Kind):
    def __init__(self, name: str, fields: dict[str, Kind], go: str = "") -> None:
        self.name = name
        self.go = go or name
        self.fields = {k.lower(): (k, kind) for k, kind in fields.items()}

    def check(self, value: Any, at: At) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise at.fail(_what(value), self.go)
        # Go names the struct that holds the field and the field's path from the top
        for key, v in value.items():
            found = self.fields.get(key.lower())
            if found is not None:
                name, kind = found
                kind.check(v, At(self.name, (*at.path, name)))


def check_body(struct: Struct, value: Any) -> None:
    """Check a decoded body against its route's structure (the top is a Go value)."""
    struct.check(value, At(struct.name))


BOOL = Bool()
STRING = Str()
INT64 = Int("int64", -(1 << 63), (1 << 63) - 1)
INT = Int("int", -(1 << 63), (1 << 63) - 1)
UINT = Int("uint", 0, (1 << 64) - 1)
UINT16 = Int("uint16", 0, (1 << 16) - 1)
UINT32 = Int("uint32", 0, (1 << 32) - 1)
UINT64 = Int("uint64", 0, (1 << 64) - 1)
STRINGS = ListOf(STRING, "[]string")
STRMAP = MapOf(STRING, "map[string]string")
