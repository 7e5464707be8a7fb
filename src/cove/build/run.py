"""RUN: a container from the current image runs the command; its changes are committed.

The container is an ordinary one of the engine (create, attach, start, wait, commit,
remove), with the build's environment (ENV plus the ARGs in scope), user, working
directory and network, and no ports.  A non-zero exit fails the build with Docker's
message; the container stays for inspection unless ``--force-rm``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from cove.build.backend import BuildError
from cove.build.core import msg, short
from cove.build.dockerfile import instructions
from cove.build.dockerfile.heredocrun import run_command
from cove.build.dockerfile.parser import Node
from cove.build.files import remove_scripts, write_scripts
from cove.build.output import run_output
from cove.build.runmounts import MountOps, RunMounts, step_network
from cove.build.state import PROXY_ARGS, Stage
from cove.errors import CoveError
from cove.util.jsontypes import Json


class RunOps(MountOps):
    def run_argv(self, stage: Stage, node: Node) -> list[str]:
        return run_command(node, stage.shell).argv

    def run_env(self, stage: Stage) -> dict[str, str]:
        """Build args a RUN sees (ENV wins over them; proxies come without an ARG)."""
        have = {str(e).partition("=")[0] for e in stage.run.get("Env") or []}
        out = {k: v for k, v in stage.args.items() if k not in have}
        for k in PROXY_ARGS:
            v = self.opts.buildargs.get(k)
            if v is not None and k not in have:
                out[k] = v
        return out

    async def do_run(self, stage: Stage, node: Node) -> AsyncIterator[Json]:
        instructions.parse_flags(node)  # unknown or repeated flags are refused here
        specs, network = self.run_flags(stage, node)
        for w in self.missing_secrets(specs):
            yield msg(w)
        mounts = await self.setup_mounts(specs, str(stage.run.get("WorkingDir") or "/"))
        try:
            async for m in self._do_run(stage, node, mounts, network):
                yield m
        finally:
            await asyncio.to_thread(mounts.close)
            mounts.release()

    async def _do_run(
        self, stage: Stage, node: Node, rm: RunMounts, network: str | None
    ) -> AsyncIterator[Json]:
        command = run_command(node, stage.shell)
        argv = command.argv
        env = self.run_env(stage)
        visible = {k: v for k, v in env.items() if k not in PROXY_ARGS}
        prefix = ""
        if visible:
            prefix = f"|{len(visible)} " + " ".join(f"{k}={v}" for k, v in sorted(visible.items()))
            prefix += " "
        created_by = prefix + " ".join(argv)
        extra = json.dumps(sorted(env.items()))
        if rm.key or network:  # the mounts as given (a secret's value never) and --network
            extra += json.dumps([rm.key, network])
        if command.scripts:  # the #! heredoc's body is not in created_by: key on it
            extra += json.dumps(command.scripts, sort_keys=True)
        key, hit = self.probe(stage, created_by, extra)
        if hit is not None:
            for m in self.use_cached(stage, hit):
                yield m
            return
        image_id = await self.ensure_image(stage)
        run = stage.run
        body: Json = {
            "Image": image_id,
            "Cmd": argv,
            "Entrypoint": [""],
            "Env": [f"{k}={v}" for k, v in sorted({**env, **rm.env}.items())],
            "User": run.get("User") or "",
            "WorkingDir": run.get("WorkingDir") or "",
            "Labels": {},
            "AttachStdout": True,
            "AttachStderr": True,
            "HostConfig": {
                "NetworkMode": step_network(network, self.opts.network),
                "ExtraHosts": list(self.opts.extrahosts) or None,
                "Mounts": list(rm.mounts),
            },
        }
        be = self.backend
        scripts = await asyncio.to_thread(write_scripts, be.paths.tmp, command.scripts)
        if scripts:  # a heredoc with a #! line: run as a file of its own, read-only
            mounts = [{"Type": "bind", "Source": src, "Target": dst, "ReadOnly": True}
                      for dst, src in scripts.items()]  # fmt: skip
            body["HostConfig"]["Mounts"] = [*body["HostConfig"].get("Mounts", []), *mounts]
        try:
            cid, _ = await be.container_create(None, body)
        except BaseException:
            await asyncio.to_thread(remove_scripts, scripts)
            raise
        yield msg(f" ---> Running in {short(cid)}\n")
        committed: str | None = None
        try:
            session = await be.container_attach(
                cid, stdin=False, stdout=True, stderr=True, logs=False, stream=True
            )
            try:
                await be.container_start(cid)
                async with contextlib.aclosing(run_output(session)) as output:
                    async for m in output:
                        yield m
            finally:
                with contextlib.suppress(CoveError, OSError):
                    await session.close()
            status = await be.container_wait(cid, "not-running")
            code = int(status.get("StatusCode", 1))
            if code != 0:
                raise BuildError(
                    f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code
                )
            committed = await be.container_commit(cid, None, None, "", "", [], False, None)
        except BaseException:
            if self.opts.forcerm or rm.env:  # a secret in its env: never left behind
                with contextlib.suppress(CoveError):
                    await be.container_remove(cid, True, True)
            raise
        finally:
            await asyncio.to_thread(remove_scripts, scripts)
        img = be.images.resolve(committed)
        new = img.diff_ids[len(stage.diff_ids) :]
        diff_id = new[-1] if new else None
        out = await self.commit(stage, key, created_by, diff_id)
        if committed != stage.image_id:
            with contextlib.suppress(CoveError):
                await asyncio.to_thread(be.images.delete, committed)
        if self.opts.rm or self.opts.forcerm or rm.env:
            with contextlib.suppress(CoveError):
                await be.container_remove(cid, True, True)
            yield msg(f"Removing intermediate container {short(cid)}\n")
        for m in out:
            yield m
