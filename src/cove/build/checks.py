"""What the builder does with a parsed Dockerfile before its first step: the frontend named
by ``# syntax=`` is checked, the target platform is checked and its predefined ARGs made,
and the build checks (``dockerfile/lint.py``) run.

On a normal build the findings are shown as ``[Warning]`` lines (and fail the build when
``# check=error=true``); with ``cove build --check`` they are the whole output and any
finding fails the command, nothing being built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from cove.build import platforms
from cove.build.backend import BuildError, BuildOptions
from cove.build.dockerfile import lint
from cove.build.dockerfile.frontend import check_syntax, parse_check
from cove.build.dockerfile.parser import Dockerfile
from cove.build.dockerfile.shell import ExpandError, expand
from cove.errors import CoveError
from cove.image.base import ImageStore
from cove.util.jsontypes import Json


@dataclass
class Prepared:
    platform_args: dict[str, str]
    findings: list[lint.Finding] = field(default_factory=list)
    fail: bool = False  # # check=error=true (or --check): findings end the build


def prepare(df: Dockerfile, images: ImageStore, opts: BuildOptions) -> Prepared:
    """Blocking (reads image configs): run it off the event loop."""
    check_syntax(df.directives.get("syntax"))
    target = platforms.check(opts.platform)
    pargs = platforms.args(target)
    cfg = parse_check(df.directives.get("check"))

    def base_env(ref: str) -> set[str] | None:
        if ref.lower() == "scratch":
            return set()
        try:
            img = images.resolve(expand(ref, pargs))
        except (CoveError, ExpandError):
            return None
        env = (img.config.get("config") or {}).get("Env") or []
        return {str(e).partition("=")[0] for e in env} | {"PATH"}

    found = lint.check(df, base_env, cfg) if opts.check or not opts.quiet or cfg.error else []
    return Prepared(pargs, found, bool(found) and (cfg.error or opts.check))


def report(p: Prepared, opts: BuildOptions, dockerfile: str) -> Iterator[Json]:
    """The stream messages for the findings; raises BuildError after them when they end
    the build."""
    for f in p.findings:
        text = f.text(dockerfile)
        yield {"stream": (text if opts.check else "[Warning] " + text) + "\n"}
    if p.fail:
        n = len(p.findings)
        raise BuildError(f"{n} problem{'s' if n > 1 else ''} found by the build checks", 1)
    if opts.check:
        yield {"stream": "Check complete, no problems found.\n"}
