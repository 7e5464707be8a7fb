"""Instructions that only change the image config (Docker's ``#(nop)`` steps): ENV, LABEL,
MAINTAINER, ARG, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, STOPSIGNAL, HEALTHCHECK, SHELL,
ONBUILD.  Each edits a copy of the stage's config and commits it without a layer."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from cove.build.backend import BuildError
from cove.build.core import BuildBase
from cove.build.dockerfile import instructions
from cove.build.dockerfile.parser import Node, trigger_text
from cove.build.dockerfile.shell import expand
from cove.build.state import Stage
from cove.util.jsontypes import Json

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


def parse_duration(flag: str, text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds."""
    if text in ("0", ""):
        return 0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise BuildError(f'time: invalid duration "{text}"')
    return int(total)


class ConfigOps(BuildBase):
    def _x(self, stage: Stage, word: str) -> str:
        return expand(word, stage.env(), self.escape)

    def edit(self, stage: Stage, node: Node) -> str:
        """Apply the instruction to ``stage``; returns the text for ``created_by``."""
        c, run = node.cmd, stage.run
        if c == "env":
            env = stage.env()
            pairs = []
            for i in range(0, len(node.args), 3):
                k = expand(node.args[i], env, self.escape)
                v = expand(node.args[i + 1], env, self.escape)
                if not k:
                    raise BuildError("ENV names can not be blank")
                stage.set_env(k, v)
                pairs.append(f"{k}={v}")
            return "ENV " + " ".join(pairs)
        if c == "label":
            env = stage.env()
            labels = dict(run.get("Labels") or {})
            pairs = []
            for i in range(0, len(node.args), 3):
                k = expand(node.args[i], env, self.escape)
                v = expand(node.args[i + 1], env, self.escape)
                labels[k] = v
                pairs.append(f"{k}={v}")
            run["Labels"] = labels
            return "LABEL " + " ".join(pairs)
        if c == "maintainer":
            stage.config["author"] = node.args[0]
            return "MAINTAINER " + node.args[0]
        if c == "arg":
            return self.edit_arg(stage, node)
        if c in ("cmd", "entrypoint"):
            argv: list[str] | None
            if node.json:
                argv = list(node.args)
            elif node.args:
                argv = [*stage.shell, node.args[0]]
            else:
                argv = None
            if c == "cmd":
                run["Cmd"] = argv
                stage.cmd_set = True
            else:
                run["Entrypoint"] = argv or None
                if not stage.cmd_set:
                    run["Cmd"] = None
            shown = json.dumps(argv) if argv is not None else "[]"
            return f"{c.upper()} {shown}"
        if c == "expose":
            ports = dict(run.get("ExposedPorts") or {})
            exposed: list[str] = []
            for word in node.args:
                spec = self._x(stage, word)
                m = _PORT.match(spec)
                if not m:
                    raise BuildError(f"Invalid containerPort: {spec}")
                lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
                proto = (m.group(3) or "tcp").lower()
                if hi < lo or hi > 65535:
                    raise BuildError(f"Invalid range specified for the Port: {spec}")
                for p in range(lo, hi + 1):
                    ports[f"{p}/{proto}"] = {}
                    exposed.append(f"{p}/{proto}")
            run["ExposedPorts"] = ports
            return "EXPOSE " + " ".join(sorted(exposed))
        if c == "volume":
            vols = dict(run.get("Volumes") or {})
            for word in node.args:
                v = self._x(stage, word).strip()
                if not v:
                    raise BuildError("VOLUME specified can not be an empty string")
                vols[v] = {}
            run["Volumes"] = vols
            return "VOLUME " + json.dumps(sorted(vols))
        if c == "user":
            user = self._x(stage, node.args[0])
            run["User"] = user
            return "USER " + user
        if c == "stopsignal":
            sig = self._x(stage, node.args[0])
            if not re.fullmatch(r"(SIG)?[A-Z0-9+-]+|\d+", sig):
                raise BuildError(f"Invalid signal: {sig}")
            run["StopSignal"] = sig
            return "STOPSIGNAL " + sig
        if c == "shell":
            run["Shell"] = list(node.args)
            return "SHELL " + json.dumps(node.args)
        if c == "healthcheck":
            return self.edit_health(stage, node)
        if c == "onbuild":
            assert node.sub is not None
            sub_text = trigger_text(node)
            triggers = list(run.get("OnBuild") or [])
            triggers.append(sub_text)
            run["OnBuild"] = triggers
            return "ONBUILD " + sub_text
        raise BuildError(f"unknown instruction: {c.upper()}")

    def edit_arg(self, stage: Stage, node: Node) -> str:
        shown = []
        for word in node.args:
            name, eq, default = word.partition("=")
            value: str | None = self._x(stage, default) if eq else None
            if name in self.opts.buildargs:
                self.used_args.add(name)
                given = self.opts.buildargs[name]
                if given is not None:
                    value = given
            if value is None and name in self.global_args:
                value = self.global_args[name]
            if value is not None:
                stage.args[name] = value
            shown.append(word)
        return "ARG " + " ".join(shown)

    def edit_health(self, stage: Stage, node: Node) -> str:
        flags = instructions.parse_flags(node)
        kind = node.args[0].upper()
        hc: Json = {}
        if kind == "NONE":
            hc["Test"] = ["NONE"]
        elif node.json:
            hc["Test"] = ["CMD", *node.args[1:]]
        else:
            hc["Test"] = ["CMD-SHELL", node.args[1]]
        for flag, key in (
            ("interval", "Interval"),
            ("timeout", "Timeout"),
            ("start-period", "StartPeriod"),
            ("start-interval", "StartInterval"),
        ):
            if flag in flags:
                ns = parse_duration(flag, flags[flag])
                if 0 < ns < 1_000_000:
                    raise BuildError(f"Interval {flag} cannot be less than 1ms")
                if ns:
                    hc[key] = ns
        if "retries" in flags:
            try:
                retries = int(flags["retries"])
            except ValueError:
                raise BuildError(f"invalid retries: {flags['retries']}") from None
            if retries < 0:
                raise BuildError("--retries cannot be negative")
            if retries:
                hc["Retries"] = retries
        stage.run["Healthcheck"] = hc
        return "HEALTHCHECK " + json.dumps(hc, separators=(",", ":"))

    async def do_config(self, stage: Stage, node: Node) -> AsyncIterator[Json]:
        text = self.edit(stage, node)
        created_by = "/bin/sh -c #(nop)  " + text
        state = json.dumps([stage.config.get("config"), stage.config.get("author")], sort_keys=True)
        key, hit = self.probe(stage, created_by, state)
        if hit is not None:
            for m in self.use_cached(stage, hit):
                yield m
            return
        for m in await self.commit(stage, key, created_by, None):
            yield m
