"""Build checks: things in a Dockerfile that build but probably do not do what was meant.

The rule names are BuildKit's (so ``# check=skip=JSONArgsRecommended`` written for Docker
works here too); the explanations are cove's own.  Pure: the caller says which variables
each base image defines (``base_env``; None when the image is not known, and then the
undefined-variable rule stays quiet for that stage rather than guess).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cove.build.dockerfile.frontend import CheckConfig
from cove.build.dockerfile.parser import Dockerfile, Node
from cove.build.platforms import PLATFORM_ARGS
from cove.build.state import PROXY_ARGS

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_EXPANDED = (
    "env",
    "arg",
    "label",
    "copy",
    "add",
    "workdir",
    "user",
    "expose",
    "volume",
    "stopsignal",
)  # fmt: skip  (RUN, CMD, ENTRYPOINT: the shell expands at run time)
_ONCE = ("cmd", "entrypoint", "healthcheck")


@dataclass(frozen=True)
class Finding:
    rule: str
    line: int
    message: str

    def text(self, dockerfile: str = "Dockerfile") -> str:
        return f"{dockerfile}:{self.line} {self.rule}: {self.message}"


def variables(text: str, escape: str = "\\") -> list[str]:
    """Names a word refers to without a fallback (``${X:-d}`` has one), outside single
    quotes and not escaped."""
    out: list[str] = []
    i, quote = 0, ""
    plain: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == escape and quote != "'":
            plain.append("  ")
            i += 2
            continue
        if ch == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
        elif ch == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        plain.append(" " if quote == "'" else ch)
        i += 1
    for m in _VAR.finditer("".join(plain)):
        name = m.group(1) or m.group(3)
        modifier = m.group(2) or ""
        if modifier[:1] in ("-", "+", "?") or modifier[:2] in (":-", ":+", ":?"):
            continue
        out.append(name)
    return out


def _words(node: Node) -> list[str]:
    words = list(node.args)
    if node.cmd in ("env", "label"):
        words = [w for i, w in enumerate(words) if i % 3 == 1]  # the values
    if node.cmd == "arg":
        words = [w.partition("=")[2] for w in words]
    return words + [f.partition("=")[2] for f in node.flags]


def check(
    df: Dockerfile,
    base_env: Callable[[str], set[str] | None] = lambda ref: None,
    config: CheckConfig | None = None,
) -> list[Finding]:
    cfg = config or CheckConfig()
    found: list[Finding] = []

    def report(rule: str, node: Node, message: str) -> None:
        if cfg.enabled(rule):
            found.append(Finding(rule, node.line, message))

    global_args = set(PLATFORM_ARGS) | set(PROXY_ARGS)
    stage_names: dict[str, int] = {}
    defined: set[str] | None = None
    seen: dict[str, int] = {}
    workdir_abs = False
    casings = {n.original.split(None, 1)[0].isupper() for n in df.nodes if n.original}
    if len(casings) > 1:
        report("ConsistentInstructionCasing", df.nodes[0],
               "instructions are written in both upper and lower case; pick one casing "
               "(upper case is the convention)")  # fmt: skip
    for node in df.nodes:
        c = node.cmd
        if c == "from":
            _check_from(node, global_args, stage_names, report)
            ref = node.args[0] if node.args else ""
            name = ref.lower()
            if name in stage_names:
                defined = None  # a stage of this file: what it defined is not tracked here
            else:
                env = base_env(ref) if "$" not in ref else None
                defined = None if env is None else env | set(PLATFORM_ARGS) | set(PROXY_ARGS)
            if len(node.args) == 3:
                stage_names.setdefault(node.args[2].lower(), node.line)
            seen, workdir_abs = {}, False
            continue
        if defined is None and not stage_names and c == "arg":
            global_args.update(w.partition("=")[0] for w in node.args)
            continue
        if c == "maintainer":
            report("MaintainerDeprecated", node,
                   "MAINTAINER is deprecated; record the author with "
                   "LABEL org.opencontainers.image.authors=\"...\" instead")  # fmt: skip
        if c in ("cmd", "entrypoint") and not node.json and node.args:
            report("JSONArgsRecommended", node,
                   f"{c.upper()} in shell form runs under '/bin/sh -c', which does not pass "
                   "signals such as SIGTERM on to the program; write it as a JSON array "
                   f"({c.upper()} [\"prog\", \"arg\"])")  # fmt: skip
        if c in ("env", "label") and node.args and node.args[2::3] == [""] * (len(node.args) // 3):
            report(
                "LegacyKeyValueFormat",
                node,
                f"'{c.upper()} key value' is the old form; write '{c.upper()} key=value'",
            )
        if c in _ONCE:
            if c in seen:
                report("MultipleInstructionsDisallowed", node,
                       f"{c.upper()} is given more than once in this stage (also line "
                       f"{seen[c]}); only the last one takes effect")  # fmt: skip
            seen[c] = node.line
        if c == "workdir" and node.args:
            if node.args[0].startswith(("/", "$")):
                workdir_abs = True
            elif not workdir_abs:
                report(
                    "WorkdirRelativePath",
                    node,
                    f"WORKDIR {node.args[0]} is relative while no absolute WORKDIR was set "
                    "in this stage, so it depends on the base image's working directory",
                )
        if defined is not None and c in _EXPANDED:
            for w in _words(node):
                for v in variables(w, df.escape):
                    if v not in defined:
                        report("UndefinedVar", node,
                               f"${v} is used but not defined by an ARG or ENV before it in "
                               "this stage (it expands to nothing)")  # fmt: skip
        if defined is not None and c == "arg":
            defined.update(w.partition("=")[0] for w in node.args)
        if defined is not None and c == "env":
            defined.update(node.args[0::3])
    return found


def _check_from(
    node: Node,
    global_args: set[str],
    stage_names: dict[str, int],
    report: Callable[[str, Node, str], None],
) -> None:
    words = node.original.split()
    if len(node.args) == 3:
        as_word = next((w for w in words[1:] if w.lower() == "as"), "as")
        if words[0].isupper() != as_word.isupper():
            report("FromAsCasing", node,
                   f"'{words[0]}' and '{as_word}' differ in case; write them alike "
                   "(FROM ... AS ...)")  # fmt: skip
        name = node.args[2]
        if name != name.lower():
            report("StageNameCasing", node,
                   f"stage name '{name}' has upper-case letters; stage names are matched "
                   f"without case, so write it '{name.lower()}'")  # fmt: skip
        low = name.lower()
        if low in stage_names:
            report(
                "DuplicateStageName",
                node,
                f"stage name '{low}' is already used on line {stage_names[low]}",
            )
        if low in ("scratch", "context"):
            report(
                "ReservedStageName",
                node,
                f"'{low}' is a reserved name and cannot be used as a stage name",
            )
    for w in [*node.args[:1], *(f.partition("=")[2] for f in node.flags)]:
        for v in variables(w):
            if v not in global_args:
                report(
                    "UndefinedArgInFrom",
                    node,
                    f"FROM uses ${v}, which no ARG before the first FROM declares",
                )
