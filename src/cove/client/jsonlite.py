"""JSON through the ``_json`` accelerator only.

``import json`` pulls in ``re`` and ``enum`` (about 8 ms here, a third of ``cove ps``); the
C scanner and string encoder that ``json`` itself uses are enough for API bodies.  Output is
compact, keeps non-ASCII text as is (like Go's encoder without HTML escaping) and keeps dict
order.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Context:
    """What ``_json.make_scanner`` reads from a decoder object."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]
_quote = _json.encode_basestring
_WS = " \t\r\n"


def loads(text: str | bytes) -> Any:
    """Decode one JSON document; ValueError when it is not one."""
    s = text.decode("utf-8") if isinstance(text, bytes) else text
    start = len(s) - len(s.lstrip(_WS))
    try:
        value, end = _scan(s, start)
    except StopIteration as e:
        raise ValueError(f"invalid JSON at offset {e.value}") from None
    finally:
        _Context.memo.clear()
    if s[end:].strip(_WS):
        raise ValueError(f"extra data after JSON at offset {end}")
    return value


def dumps(obj: Any) -> str:
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, str):
        return str(_quote(obj))
    if isinstance(obj, int):
        return str(int(obj))
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise ValueError(f"unsupported float value: {obj!r}")
        return repr(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{_quote(str(k))}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")
