"""The classic builder: a Dockerfile's instructions, step by step, each committed as an image.

``Builder.run`` is an async generator of Docker's classic build stream messages
(``{"stream": ...}``, ``{"aux": {"ID": ...}}``).  An error raised before the first message
means nothing started; later errors are for the caller to put in the stream.  Names are
written only after the last step succeeded (and the final image passed the layer limit),
so a failed build tags nothing; the images of successful steps stay, as Docker's, for the
cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from cove.build.backend import BuildError
from cove.build.copyops import CopyOps
from cove.build.core import msg, short
from cove.build.dockerfile import instructions
from cove.build.dockerfile.parser import Node, node_from_line, parse
from cove.build.dockerfile.shell import expand
from cove.build.run import RunOps
from cove.build.state import PROXY_ARGS, Stage, child_config, scratch_config
from cove.build.steps import ConfigOps
from cove.errors import CoveError, InvalidArgument, NotFound
from cove.image.local import MAX_LAYERS
from cove.oci import reference

Json = dict[str, Any]


class Builder(ConfigOps, RunOps, CopyOps):
    # --- the whole build -----------------------------------------------------------------
    async def run(self) -> AsyncGenerator[Json, None]:
        for t in self.opts.tags:
            try:
                reference.parse(t)
            except InvalidArgument:
                raise InvalidArgument(f"invalid reference format: {t!r}") from None
        df = parse(self.context.read_dockerfile())
        self.escape = df.escape
        nodes = df.nodes
        for n in nodes:
            instructions.check(n)
        nodes = self._until_target(nodes)
        if self.opts.labels:
            text = "LABEL " + " ".join(
                f"{_q(k)}={_q(v)}" for k, v in sorted(self.opts.labels.items())
            )
            nodes.append(node_from_line(text, 0, 0, df.escape))
        if not any(n.cmd == "from" for n in nodes):
            raise InvalidArgument("no build stage in current context")
        first_from = next(i for i, n in enumerate(nodes) if n.cmd == "from")
        for n in nodes[:first_from]:
            if n.cmd != "arg":
                raise InvalidArgument(
                    f"Dockerfile parse error line {n.line}: {n.cmd.upper()} "
                    "is not allowed before FROM"
                )
        total = len(nodes)
        try:
            for i, node in enumerate(nodes, 1):
                if not self.opts.quiet:
                    yield msg(f"Step {i}/{total} : {node.original}\n")
                async for m in self.dispatch(node):
                    if not self.opts.quiet or "aux" in m:
                        yield m
        finally:
            await asyncio.to_thread(self.cache.save)
        final = self.stages[-1]
        image_id = await self.ensure_image(final)
        if len(final.diff_ids) > MAX_LAYERS:
            raise BuildError(
                f"max depth exceeded: the image would have {len(final.diff_ids)} layers, "
                f"at most {MAX_LAYERS} are allowed"
            )
        unused = sorted(
            k for k in self.opts.buildargs if k not in self.used_args and k not in PROXY_ARGS
        )
        if unused and not self.opts.quiet:
            yield msg(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        yield {"aux": {"ID": image_id}}
        if self.opts.quiet:
            yield msg(image_id + "\n")
        else:
            yield msg(f"Successfully built {short(image_id)}\n")
        for t in self.opts.tags:
            self.backend.images.tag(image_id, t)
            if not self.opts.quiet:
                yield msg(f"Successfully tagged {reference.parse(t).familiar()}\n")

    def _until_target(self, nodes: list[Node]) -> list[Node]:
        target = self.opts.target
        if not target:
            return list(nodes)
        for i, n in enumerate(nodes):
            if n.cmd == "from" and len(n.args) == 3 and n.args[2].lower() == target.lower():
                end = next((j for j in range(i + 1, len(nodes)) if nodes[j].cmd == "from"), None)
                return list(nodes[:end] if end is not None else nodes)
        raise InvalidArgument(f"failed to reach build target {target} in Dockerfile")

    # --- dispatch ------------------------------------------------------------------------
    async def dispatch(self, node: Node) -> AsyncIterator[Json]:
        if node.cmd == "from":
            async for m in self.do_from(node):
                yield m
            return
        if not self.stages:
            self.do_global_arg(node)
            return
        stage = self.stages[-1]
        if node.cmd == "run":
            async for m in self.do_run(stage, node):
                yield m
        elif node.cmd in ("copy", "add"):
            async for m in self.do_copy(stage, node):
                yield m
        elif node.cmd == "workdir":
            async for m in self.do_workdir(stage, node):
                yield m
        else:
            async for m in self.do_config(stage, node):
                yield m

    def do_global_arg(self, node: Node) -> None:
        for word in node.args:
            name, eq, default = word.partition("=")
            value = expand(default, self.global_args, self.escape) if eq else None
            given = self.opts.buildargs.get(name)
            if name in self.opts.buildargs and given is not None:
                value = given
                self.used_args.add(name)
            if value is not None:
                self.global_args[name] = value
            else:
                self.global_args.setdefault(name, "")

    # --- FROM ----------------------------------------------------------------------------
    async def do_from(self, node: Node) -> AsyncIterator[Json]:
        flags = instructions.parse_flags(node)
        self._sources = None  # each stage may follow its own --cache-from source
        if "platform" in flags:
            expand(flags["platform"], self.global_args, self.escape)
        ref = expand(node.args[0], self.global_args, self.escape)
        name = node.args[2].lower() if len(node.args) == 3 else None
        if name and any(s.name == name for s in self.stages):
            raise BuildError(f"duplicate name {name}")
        prev = next((s for s in self.stages if s.name and s.name == ref.lower()), None)
        if ref.lower() == "scratch" or ref == "":
            if ref == "":
                raise BuildError("base name (${...}) should not be blank")
            stage = Stage(len(self.stages), name, None, scratch_config())
            self.stages.append(stage)
            yield msg(" ---> \n")
            return
        if prev is not None:
            base_id = await self.ensure_image(prev)
            base_cfg = prev.config
        else:
            async for m in self.pull_base(ref):
                yield m
            img = self.backend.images.resolve(ref)
            base_id, base_cfg = img.id, img.config
        stage = Stage(len(self.stages), name, base_id, child_config(base_cfg))
        self.stages.append(stage)
        yield msg(f" ---> {short(base_id)}\n")
        triggers = list(stage.run.get("OnBuild") or [])
        stage.run["OnBuild"] = None  # triggers run once, in the direct child only
        if triggers:
            plural = "s" if len(triggers) > 1 else ""
            yield msg(f"# Executing {len(triggers)} build trigger{plural}\n")
            for text in triggers:
                sub = node_from_line(text, node.line, node.line, self.escape)
                if sub.cmd in ("onbuild", "from", "maintainer"):
                    raise BuildError(f"{sub.cmd.upper()} isn't allowed as an ONBUILD trigger")
                instructions.check(sub)
                async for m in self.dispatch(sub):
                    yield m

    async def find_base(self, ref: str) -> Any:
        """The image ``ref`` (pulled when missing, or always with ``--pull``)."""
        async for _ in self.pull_base(ref):
            pass
        return self.backend.images.resolve(ref)

    async def pull_base(self, ref: str) -> AsyncIterator[Json]:
        """Pull ``ref`` when needed, yielding the registry's progress messages."""
        images = self.backend.images
        if not self.opts.pull:
            try:
                images.resolve(ref)
                return
            except NotFound:
                pass
        pull = getattr(self.backend, "image_pull", None)
        if pull is None:
            raise BuildError(f"No such image: {ref}")
        try:
            r = reference.parse(ref)
        except InvalidArgument:
            raise BuildError(f"invalid reference format: {ref}") from None
        try:
            result = pull(r.familiar_repository, r.digest or r.tag or "latest",
                          self.opts.platform, None)  # fmt: skip
            if asyncio.iscoroutine(result):
                result = await result
            async for m in result:
                yield m
        except CoveError as e:
            raise BuildError(str(e)) from None  # the registry's words, as dockerd's


def _q(s: str) -> str:
    if s and all(c.isalnum() or c in "._-/:" for c in s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
