"""Dockerfile instructions applied to a container config: ``import -c`` and ``commit -c``.

``apply_changes(config, changes)`` takes the ``config`` section of an image config (the
container config: ``Cmd``, ``Env``, ...) and returns a changed copy, as Docker's
``BuildFromConfig`` does.  Only the instructions Docker accepts for a change are valid:
CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
Pure: no disk, no processes.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from typing import Any

from cove.errors import InvalidArgument

VALID = ("cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild",
         "stopsignal", "user", "volume", "workdir")  # fmt: skip
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
          "h": 3600 * 10**9}  # fmt: skip


def _env_map(config: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in config.get("Env") or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _words(text: str, env: dict[str, str] | None) -> list[str]:
    """Split on blanks outside quotes, dropping quotes; expand $VAR / ${VAR:-x} when ``env``
    is given (single quotes and a backslash keep a "$" literal), as Docker's word lexer."""
    out: list[str] = []
    cur: list[str] = []
    have = False
    i, n, quote = 0, len(text), ""
    while i < n:
        c = text[i]
        if c == "\\" and quote != "'" and i + 1 < n:
            cur.append(text[i + 1])
            i, have = i + 2, True
            continue
        if quote:
            if c == quote:
                quote = ""
                i += 1
                continue
        elif c in "'\"":
            quote, have = c, True
            i += 1
            continue
        elif c.isspace():
            if have:
                out.append("".join(cur))
                cur, have = [], False
            i += 1
            continue
        if c == "$" and quote != "'" and env is not None:
            m = _VAR.match(text, i)
            if m:
                name = m.group(1) or m.group(4)
                value = env.get(name, "")
                if m.group(2) == ":-" and not value:
                    value = m.group(3)
                elif m.group(2) == ":+":
                    value = m.group(3) if value else ""
                cur.append(value)
                i, have = m.end(), True
                continue
        cur.append(c)
        i, have = i + 1, True
    if quote:
        raise InvalidArgument(f"unexpected end of statement while looking for matching {quote}")
    if have:
        out.append("".join(cur))
    return out


def _json_array(rest: str) -> list[str] | None:
    """The JSON (exec) form, or None when ``rest`` is not a JSON array of strings."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return value
    return None


def _json_or_shell(rest: str) -> list[str]:
    """The exec (JSON array) form as given, or the shell form run by /bin/sh -c."""
    value = _json_array(rest)
    return value if value is not None else ["/bin/sh", "-c", rest]


def _pairs(instr: str, rest: str, env: dict[str, str]) -> list[tuple[str, str]]:
    """ENV/LABEL arguments: ``K=V K2="v 2"`` or the legacy ``K some value``."""
    words = _words(rest, env)
    if not words:
        raise InvalidArgument(f"{instr.upper()} requires at least one argument")
    if "=" not in words[0]:
        parts = rest.split(None, 1)
        if len(parts) < 2:
            raise InvalidArgument(f"{instr.upper()} must have two arguments")
        return [(parts[0], " ".join(_words(parts[1], env)))]
    out = []
    for w in words:
        k, eq, v = w.partition("=")
        if not k:
            raise InvalidArgument(f"{instr.upper()} names can not be blank")
        if not eq:
            raise InvalidArgument(
                f"Syntax error - can't find = in {w!r}. Must be of the form: name=value"
            )
        out.append((k, v))
    return out


def _duration(text: str) -> int:
    pos, total = 0, 0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += int(float(m.group(1)) * _UNITS[m.group(2)])
        pos = m.end()
    if pos != len(text) or not text:
        raise InvalidArgument(f"time: invalid duration {text!r}")
    return total


def _healthcheck(rest: str) -> dict[str, Any]:
    m = re.match(r"((?:--\S+\s+)*)(\S*)\s*(.*)$", rest, re.S)
    flags, kind, cmd = m.groups() if m else ("", "", "")
    if kind.upper() == "NONE":
        if flags or cmd:
            raise InvalidArgument("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind.upper() != "CMD":
        raise InvalidArgument(f'Unknown type "{kind.upper()}" in HEALTHCHECK (try CMD)')
    hc: dict[str, Any] = {}
    keys = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
            "start-interval": "StartInterval"}  # fmt: skip
    for word in flags.split():
        flag, _, value = word[2:].partition("=")
        if flag in keys:
            hc[keys[flag]] = _duration(value)
        elif flag == "retries" and value.isdigit():
            hc["Retries"] = int(value)
        else:
            raise InvalidArgument(f"unknown flag: {flag}")
    test = _json_array(cmd)
    hc["Test"] = ["CMD-SHELL", cmd] if test is None else ["CMD", *test]
    return hc


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """A copy of the container config ``config`` with the Dockerfile ``changes`` applied."""
    cfg = copy.deepcopy(config)
    cmd_set = False
    for change in changes:
        line = change.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr, rest = instr.lower(), rest.strip()
        if instr not in VALID:
            raise InvalidArgument(f"{instr} is not a valid change command")
        env = _env_map(cfg)
        if instr == "cmd":
            cfg["Cmd"], cmd_set = _json_or_shell(rest), True
        elif instr == "entrypoint":
            cfg["Entrypoint"] = _json_or_shell(rest) if rest else None
            if not cmd_set:
                cfg["Cmd"] = None
        elif instr == "env":
            for k, v in _pairs(instr, rest, env):
                env[k] = v
            cfg["Env"] = [f"{k}={v}" for k, v in env.items()]
        elif instr == "label":
            labels = dict(cfg.get("Labels") or {})
            labels.update(_pairs(instr, rest, env))
            cfg["Labels"] = labels
        elif instr == "expose":
            ports = dict(cfg.get("ExposedPorts") or {})
            for word in _words(rest, env):
                for p in _expand_ports(word):
                    ports[p] = {}
            cfg["ExposedPorts"] = ports
        elif instr == "volume":
            vols = dict(cfg.get("Volumes") or {})
            paths = _json_array(rest)
            for path in paths if paths is not None else _words(rest, env):
                if not path.strip():
                    raise InvalidArgument("VOLUME specified can not be an empty string")
                vols[path] = {}
            cfg["Volumes"] = vols
        elif instr == "workdir":
            words = _words(rest, env)
            if not words:
                raise InvalidArgument("WORKDIR requires exactly one argument")
            cfg["WorkingDir"] = posixpath.join(cfg.get("WorkingDir") or "/", " ".join(words))
        elif instr == "user":
            words = _words(rest, env)
            if not words:
                raise InvalidArgument("USER requires exactly one argument")
            cfg["User"] = words[0]
        elif instr == "stopsignal":
            cfg["StopSignal"] = _signal(" ".join(_words(rest, env)))
        elif instr == "onbuild":
            trigger = rest.split(None, 1)[0].upper() if rest else ""
            if trigger in ("", "ONBUILD", "FROM", "MAINTAINER"):
                raise InvalidArgument(f"{trigger or 'ONBUILD'} isn't allowed as an ONBUILD trigger")
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), rest]
        elif instr == "healthcheck":
            cfg["Healthcheck"] = _healthcheck(rest)
    return cfg


def _expand_ports(word: str) -> list[str]:
    port, _, proto = word.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    lo, _, hi = port.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        raise InvalidArgument(f"invalid containerPort: {port}")
    first, last = int(lo), int(hi or lo)
    if not 0 < first <= last <= 65535:
        raise InvalidArgument(f"invalid port range: {port}")
    return [f"{p}/{proto}" for p in range(first, last + 1)]


def _signal(text: str) -> str:
    name = text.upper()
    if name.isdigit() and 0 < int(name) < 65:
        return text
    if re.fullmatch(r"(SIG)?[A-Z0-9+-]+", name) and name:
        return text
    raise InvalidArgument(f"Invalid signal: {text}")
