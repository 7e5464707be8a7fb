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

from cove.build import checks, graph, platforms
from cove.build.backend import BuildError
from cove.build.context import BuildContext
from cove.build.copyops import CopyOps
from cove.build.core import msg, short
from cove.build.dockerfile import instructions
from cove.build.dockerfile.parser import Node, node_from_line, parse, trigger_node
from cove.build.dockerfile.shell import expand
from cove.build.run import RunOps
from cove.build.state import PROXY_ARGS, Stage, child_config, scratch_config
from cove.build.steps import ConfigOps
from cove.errors import CoveError, InvalidArgument, NotFound
from cove.image.local import MAX_LAYERS
from cove.oci import reference
from cove.util.jsontypes import Json

MAX_PARALLEL = 4  # stages built at the same time (each may run a container)
HELD = 64  # messages a stage may say before the stages ahead of it in the file are done


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
        pre = await asyncio.to_thread(checks.prepare, df, self.backend.images, self.opts)
        self.global_args.update(pre.platform_args)  # predefined, as BuildKit's
        for m in checks.report(pre, self.opts, self.context.dockerfile_name):
            yield m
        if self.opts.check:
            return
        nodes = df.nodes
        for n in nodes:
            instructions.check(n)
        if not any(n.cmd == "from" for n in nodes):
            raise InvalidArgument("no build stage in current context")
        first_from = next(i for i, n in enumerate(nodes) if n.cmd == "from")
        for n in nodes[:first_from]:
            if n.cmd != "arg":
                raise InvalidArgument(
                    f"Dockerfile parse error line {n.line}: {n.cmd.upper()} "
                    "is not allowed before FROM"
                )
            self.do_global_arg(n)
        try:
            bp = graph.plan(
                nodes,
                self.opts.target,
                lambda s: expand(s, self.global_args, self.escape),
                frozenset(self.named),
            )
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        if self.opts.labels:
            text = "LABEL " + " ".join(
                f"{_q(k)}={_q(v)}" for k, v in sorted(self.opts.labels.items())
            )
            bp.stages[bp.target].nodes.append(node_from_line(text, 0, 0, df.escape))
        steps = bp.prelude + [n for i in bp.needed for n in bp.stages[i].nodes]
        number = {id(n): k for k, n in enumerate(steps, 1)}
        total = len(steps)
        try:
            if not self.opts.quiet:
                for n in bp.prelude:
                    yield msg(f"Step {number[id(n)]}/{total} : {n.original}\n")
                if bp.skipped:
                    names = ", ".join(s.name or str(s.index) for s in bp.skipped)
                    yield msg(f"Skipping stages the target does not need: {names}\n")
            async for m in self.run_stages(bp, number, total):
                yield m
        finally:
            await asyncio.to_thread(self.cache.save)
        final = self.finished[bp.target]
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

    async def run_stages(
        self, bp: graph.BuildPlan, number: dict[int, int], total: int
    ) -> AsyncIterator[Json]:
        """Build the needed stages, each as a task that first waits for the stages it
        uses; at most MAX_PARALLEL run at once.  The output goes out in file order: a
        stage's messages are held (at most HELD of them; a stage further ahead then waits)
        until the stages before it have said everything, so it reads as a build of one
        stage after the other.  The first failure, in any stage, ends the build at once
        (after what the failing stage had to say) and cancels the others."""
        loop = asyncio.get_running_loop()
        done: dict[int, asyncio.Future[None]] = {i: loop.create_future() for i in bp.needed}
        held: dict[int, asyncio.Queue[Json | None]] = {
            i: asyncio.Queue(maxsize=HELD) for i in bp.needed
        }
        failed: asyncio.Future[tuple[int, BaseException]] = loop.create_future()
        gate = asyncio.Semaphore(MAX_PARALLEL)
        quiet = self.opts.quiet

        async def one(sp: graph.StagePlan) -> None:
            out = held[sp.index]
            try:
                for d in sp.deps:
                    await done[d]
                async with gate:
                    for node in sp.nodes:
                        if not quiet:
                            await out.put(
                                msg(f"Step {number[id(node)]}/{total} : {node.original}\n")
                            )
                        async for m in self.dispatch(sp.index, node):
                            if not quiet or "aux" in m:
                                await out.put(m)
                self.finished[sp.index] = self.stages[sp.index]
                done[sp.index].set_result(None)
                await out.put(None)
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # handed to the consumer, raised there
                if not failed.done():
                    failed.set_result((sp.index, e))

        def drain(i: int) -> list[Json]:
            out: list[Json] = []
            while not held[i].empty():
                m = held[i].get_nowait()
                if m is not None:
                    out.append(m)
            return out

        tasks = [asyncio.create_task(one(bp.stages[i])) for i in bp.needed]
        try:
            for i in bp.needed:
                while True:
                    get = asyncio.ensure_future(held[i].get())
                    either: set[asyncio.Future[Any]] = {get, failed}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    if not get.done():
                        get.cancel()
                        where, exc = failed.result()
                        for m in drain(where):
                            yield m
                        raise exc
                    item = get.result()
                    if item is None:
                        break
                    yield item
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for f in done.values():
                f.cancel()  # nobody waits any more; a set result stays set

    # --- dispatch ------------------------------------------------------------------------
    async def dispatch(self, index: int, node: Node) -> AsyncIterator[Json]:
        """One step of stage ``index`` (its FROM creates the stage)."""
        if node.cmd == "from":
            async for m in self.do_from(index, node):
                yield m
            return
        stage = self.stages[index]
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
    async def do_from(self, index: int, node: Node) -> AsyncIterator[Json]:
        flags = instructions.parse_flags(node)
        if "platform" in flags:
            platforms.check(expand(flags["platform"], self.global_args, self.escape))
        ref = expand(node.args[0], self.global_args, self.escape)
        name = node.args[2].lower() if len(node.args) == 3 else None
        if name and self.names.setdefault(name, index) != index:
            raise BuildError(f"duplicate name {name}")
        named = self.named.get(ref.lower())
        if isinstance(named, BuildContext):
            raise BuildError(f"FROM {ref}: a directory build context can only be copied from")
        ref = named or ref
        prev = self.stage_for(ref) if named is None else None
        if ref.lower() == "scratch" or ref == "":
            if ref == "":
                raise BuildError("base name (${...}) should not be blank")
            self.stages[index] = Stage(index, name, None, scratch_config())
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
        stage = Stage(index, name, base_id, child_config(base_cfg))
        self.stages[index] = stage
        yield msg(f" ---> {short(base_id)}\n")
        triggers = list(stage.run.get("OnBuild") or [])
        stage.run["OnBuild"] = None  # triggers run once, in the direct child only
        if triggers:
            plural = "s" if len(triggers) > 1 else ""
            yield msg(f"# Executing {len(triggers)} build trigger{plural}\n")
            for text in triggers:
                sub = trigger_node(text, node.line, self.escape)
                if sub.cmd in ("onbuild", "from", "maintainer"):
                    raise BuildError(f"{sub.cmd.upper()} isn't allowed as an ONBUILD trigger")
                instructions.check(sub)
                async for m in self.dispatch(index, sub):
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
