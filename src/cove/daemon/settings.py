"""The machinery of coved's settings table (``DaemonConfig`` in daemon/config.py).

A daemon setting is declared once, as one field of ``DaemonConfig``: its Python type, its
default and a ``Setting`` (command-line flags, a one-line doc, where it goes). Everything else
is derived here from that declaration: checking a daemon.json value (a wrong type gets
dockerd's words, which are Go's json package's), the coved flags and their parsers, and the
settings copied into the engine's options by name. docs/daemon-config.md is written by hand
and a unit test keeps its keys and flags equal to the table's.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

# where a setting goes once loaded: copied by name into EngineOptions or NetOptions, or read
# by one daemon module (its `cfg.<name>` reads are what a unit test looks for)
ENGINE = "engine"
NET = "net"


class Setting(NamedTuple):
    doc: str  # one line: the flag's help text
    to: str  # ENGINE, NET, or the daemon module reading it ("main", "listeners", "wiring")
    flags: tuple[str, ...] = ()  # command-line names, as dockerd spells them
    aliases: tuple[str, ...] = ()  # older daemon.json names that still load ("graph")
    choices: tuple[str, ...] = ()  # the flag's accepted words
    # a value of the right type that is still wrong: dockerd's message for it, else None
    check: Callable[[Any], str | None] | None = None
    # the check is one dockerd makes when it starts ("failed to start daemon: ..."), not
    # one of its file validations ("configuration validation from file failed: ...")
    at_start: bool = False


def setting(
    default: Any,
    doc: str,
    to: str,
    *,
    flags: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    choices: tuple[str, ...] = (),
    check: Callable[[Any], str | None] | None = None,
    at_start: bool = False,
) -> Any:
    """A ``DaemonConfig`` field; a list or dict default is copied for every instance."""
    meta = {"setting": Setting(doc, to, flags, aliases, choices, check, at_start)}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ---- value kinds: what a JSON value must be, and Go's name for it in dockerd's errors


def _json_kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class Kind(NamedTuple):
    go: str  # dockerd's Go type, as its json errors name it
    metavar: str  # the flag's value in --help, as dockerd's help names it
    ok: Callable[[Any], bool]
    # a list item or map value: None when fine, else (the Go type it fails, the bad value)
    item: Callable[[Any], tuple[str, Any] | None] | None = None
    flag_type: Callable[[str], Any] | None = None
    repeat: bool = False  # the flag may be given many times (action=append)


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"invalid key=value option {text!r}")
    return key, value


def _string_item(v: Any) -> tuple[str, Any] | None:
    return None if isinstance(v, str) else ("string", v)


def _runtime_item(v: Any) -> tuple[str, Any] | None:
    if not isinstance(v, dict):
        return "types.Runtime", v
    path = v.get("path", "")
    return None if isinstance(path, str) else ("string", path)


def _pool_item(v: Any) -> tuple[str, Any] | None:
    if not isinstance(v, dict):
        return "ipamutils.NetworkToSplit", v
    base, size = v.get("base", ""), v.get("size", 0)
    if not isinstance(base, str):
        return "string", base
    return None if _is_int(size) else ("int", size)


_BOOL = Kind("bool", "bool", lambda v: isinstance(v, bool), flag_type=_boolean)
# the annotation of a DaemonConfig field -> its kind
KINDS: dict[Any, Kind] = {
    str: Kind("string", "string", lambda v: isinstance(v, str), flag_type=str),
    bool: _BOOL,
    bool | None: _BOOL,  # absence means something (tls, tlsverify)
    int: Kind("int", "int", _is_int, flag_type=int),
    list[str]: Kind(
        "[]string", "list", lambda v: isinstance(v, list), _string_item, str, repeat=True
    ),
    dict[str, str]: Kind(
        "map[string]string",
        "map",
        lambda v: isinstance(v, dict),
        _string_item,
        _key_value,
        repeat=True,
    ),
    dict[str, dict[str, Any]]: Kind(
        "map[string]types.Runtime", "runtime", lambda v: isinstance(v, dict), _runtime_item
    ),
    list[dict[str, Any]]: Kind(
        "[]*ipamutils.NetworkToSplit", "pool-options", lambda v: isinstance(v, list), _pool_item
    ),
}


class Entry(NamedTuple):
    """One row of the table: a DaemonConfig field seen from daemon.json and the flags."""

    key: str  # daemon.json key: the field's name with dashes
    attr: str
    kind: Kind
    setting: Setting
    default: Any


@functools.cache
def entries(cls: type) -> tuple[Entry, ...]:
    out = []
    for f in dataclasses.fields(cls):
        s = f.metadata.get("setting")
        if not isinstance(s, Setting):
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
        if f.type not in KINDS:
            raise TypeError(f"{cls.__name__}.{f.name}: no kind for type {f.type!r}")
        factory = f.default_factory
        default = factory() if factory is not dataclasses.MISSING else f.default
        out.append(Entry(f.name.replace("_", "-"), f.name, KINDS[f.type], s, default))
    return tuple(out)


@functools.cache
def by_key(cls: type) -> dict[str, Entry]:
    """Every daemon.json key, aliases included, to its entry."""
    out = {}
    for e in entries(cls):
        out[e.key] = e
        for alias in e.setting.aliases:
            out[alias] = e
    return out


def go_text(v: Any) -> str:
    """A value as dockerd prints it in its messages (Go's %v): true, [a b], map[k:v]."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, list):
        return "[" + " ".join(go_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_text(x)}" for k, x in sorted(v.items())) + "]"
    return str(v)


def type_error(e: Entry, value: Any) -> str | None:
    """dockerd's words (Go's json package's) for a value of the wrong JSON type, else None."""

    def words(v: Any, go: str) -> str:
        what = _json_kind(v)
        if what == "number" and go == "int":
            what = f"number {v}"  # Go quotes a number it cannot fit, such as 3.5
        return f"json: cannot unmarshal {what} into Go struct field Config.{e.key} of type {go}"

    if not e.kind.ok(value):
        return words(value, e.kind.go)
    if e.kind.item is not None:
        for item in value.values() if isinstance(value, dict) else value:
            failed = e.kind.item(item)
            if failed is not None:
                return words(failed[1], failed[0])
    return None


def value_error(e: Entry, value: Any, where: str) -> str | None:
    """dockerd's words for a value of the right type that it refuses, else None; ``where``
    is the file's "unable to configure ..." prefix, or "" for a flag."""
    bad = e.setting.check(value) if e.setting.check is not None else None
    if not bad:
        return None
    if e.setting.at_start:
        return "failed to start daemon: " + bad
    return where + "configuration validation from file failed: " + bad if where else bad


def add_flags(p: argparse.ArgumentParser, cls: type) -> None:
    """The flags of every setting that has some; each stores under the setting's name."""
    for e in entries(cls):
        s, kind = e.setting, e.kind
        if not s.flags:
            continue
        kw: dict[str, Any] = {"dest": e.attr, "help": s.doc, "default": None}
        kw["metavar"] = kind.metavar
        if s.choices:
            kw["choices"] = list(s.choices)
        if kind is _BOOL:  # --iptables, --iptables=false
            kw.update(type=_boolean, nargs="?", const=True)
        elif kind.repeat:
            kw.update(action="append", type=kind.flag_type)
        elif kind.flag_type is not str:
            kw["type"] = kind.flag_type
        p.add_argument(*s.flags, **kw)


def given_flags(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The flags given, under their daemon.json keys (so ``config.load`` can catch a setting
    given both ways); repeated key=value flags become the map daemon.json would hold."""
    out: dict[str, Any] = {}
    for e in entries(cls):
        value = getattr(args, e.attr, None)
        if not e.setting.flags or value is None:
            continue
        out[e.key] = dict(value) if e.kind.flag_type is _key_value else value
    return out


def copied(cfg: object, to: str) -> dict[str, Any]:
    """The settings that go to ``to`` (ENGINE or NET), by name, as copies."""
    cls: type = type(cfg)
    return {e.attr: copy.deepcopy(getattr(cfg, e.attr)) for e in entries(cls) if e.setting.to == to}
