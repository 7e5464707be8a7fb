"""A small in-memory engine behind the API, to test the HTTP layer above the engine.

Containers and execs run tiny fake programs chosen by argv[0]:
``echo ARGS`` (prints them), ``fail`` (stderr "oops", exit 3), ``both`` (one line on each
stream), ``cat`` (echoes stdin until EOF), ``sleep`` (runs until killed, exit 137).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

from cove.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    NotModified,
    Unavailable,
    no_such_container,
    no_such_exec,
    no_such_image,
)
from cove.util.streams import STDERR, STDOUT, Chunk

Json = dict[str, Any]
IMAGE_ID = "sha256:" + "ab" * 32


class FakeSession:
    def __init__(self, proc: FakeProcess, tty: bool) -> None:
        self.proc = proc
        self.tty = tty
        self.queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self.closed = False

    async def read(self) -> Chunk | None:
        return await self.queue.get()

    async def write(self, data: bytes) -> None:
        self.proc.received += data
        self.proc.stdin.put_nowait(data)

    async def close_stdin(self) -> None:
        self.proc.stdin_closed = True
        self.proc.stdin.put_nowait(None)

    async def close(self) -> None:
        self.closed = True
        if self in self.proc.sessions:
            self.proc.sessions.remove(self)


class FakeProcess:
    def __init__(self, argv: list[str], tty: bool) -> None:
        self.argv = argv or ["true"]
        self.tty = tty
        self.sessions: list[FakeSession] = []
        self.log: list[Chunk] = []
        self.log_listeners: list[asyncio.Queue[Chunk | None]] = []
        self.stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.received = b""
        self.stdin_closed = False
        self.killed = asyncio.Event()
        self.exited = asyncio.Event()
        self.running = False
        self.exit_code: int | None = None

    def emit(self, stream: int, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        # A TTY merges the streams and turns LF into CRLF.
        chunk = Chunk(STDOUT, data.replace(b"\n", b"\r\n")) if self.tty else Chunk(stream, data)
        self.log.append(chunk)
        for target in [*(s.queue for s in self.sessions), *self.log_listeners]:
            target.put_nowait(chunk)

    async def run(self) -> None:
        self.running = True
        code = 0
        try:
            prog, args = self.argv[0], self.argv[1:]
            if prog == "echo":
                self.emit(STDOUT, " ".join(args) + "\n")
            elif prog == "fail":
                self.emit(STDERR, "oops\n")
                code = 3
            elif prog == "both":
                self.emit(STDOUT, "out\n")
                self.emit(STDERR, "err\n")
            elif prog == "cat":
                while (data := await self.stdin.get()) is not None:
                    self.emit(STDOUT, data)
            elif prog == "sleep":
                await self.killed.wait()
                code = 137
        finally:
            self.running = False
            self.exit_code = code
            self.exited.set()
            for target in [*(s.queue for s in self.sessions), *self.log_listeners]:
                target.put_nowait(None)

    def attach(self) -> FakeSession:
        session = FakeSession(self, self.tty)
        self.sessions.append(session)
        if self.exit_code is not None:
            session.queue.put_nowait(None)
        return session


class FakeContainer:
    def __init__(self, cid: str, name: str, body: Json) -> None:
        self.id, self.name, self.body = cid, name, body
        self.created = time.time()
        self.proc = FakeProcess(list(body.get("Cmd") or []), bool(body.get("Tty")))
        self.removed = asyncio.Event()
        self.started = False

    @property
    def status(self) -> str:
        if self.proc.running:
            return "running"
        return "exited" if self.started else "created"


class FakeEngine:
    def __init__(self) -> None:
        self.images: dict[str, Json] = {
            "busybox:latest": {"Id": IMAGE_ID, "RepoTags": ["busybox:latest"], "Size": 1},
            "localhost:5000/app:1": {"Id": IMAGE_ID, "RepoTags": ["localhost:5000/app:1"]},
        }
        self.containers: dict[str, FakeContainer] = {}
        self.execs: dict[str, tuple[FakeProcess, Json]] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.imported: list[bytes] = []
        self.event_queue: asyncio.Queue[Json] | None = None
        self.events_closed = False
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- helpers ----------------------------------------------------------------------
    def _container(self, ref: str) -> FakeContainer:
        for c in self.containers.values():
            if ref in (c.id, c.name) or (len(ref) >= 3 and c.id.startswith(ref)):
                return c
        raise no_such_container(ref)

    def _image(self, ref: str) -> Json:
        key = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        if key in self.images:
            return self.images[key]
        raise no_such_image(ref)

    def _spawn(self, proc: FakeProcess) -> None:
        task = asyncio.get_running_loop().create_task(proc.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- system -----------------------------------------------------------------------
    def version(self) -> Json:
        return {
            "Platform": {"Name": "cove"},
            "Components": [{"Name": "Engine", "Version": "27.0.0-cove", "Details": {}}],
            "Version": "27.0.0-cove",
            "ApiVersion": "1.44",
            "MinAPIVersion": "1.24",
            "GitCommit": "fake",
            "GoVersion": "python",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": "6.1",
            "BuildTime": "2024-01-01T00:00:00.000000000+00:00",
        }

    def info(self) -> Json:
        return {"ID": "fake", "Containers": len(self.containers), "OSType": "linux"}

    def boom(self) -> Json:
        raise RuntimeError("kaboom")

    # --- containers -------------------------------------------------------------------
    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]:
        self._image(str(body.get("Image", "")))
        if name and any(c.name == name for c in self.containers.values()):
            raise Conflict(f'Conflict. The container name "/{name}" is already in use')
        cid = hashlib.sha256(str(next(self._ids)).encode()).hexdigest()
        self.containers[cid] = FakeContainer(cid, name or f"fake_{cid[:6]}", body)
        return cid, []

    async def container_start(self, ref: str) -> None:
        c = self._container(ref)
        if c.proc.running:
            raise NotModified("container already started")
        c.started = True
        self._spawn(c.proc)
        if (c.body.get("HostConfig") or {}).get("AutoRemove"):

            async def autoremove() -> None:
                await c.proc.exited.wait()
                await self.container_remove(c.id, True, False)

            task = asyncio.get_running_loop().create_task(autoremove())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def container_stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        c = self._container(ref)
        self.calls.append(("stop", ref, timeout, signal))
        if not c.proc.running:
            raise NotModified("container already stopped")
        c.proc.killed.set()
        await c.proc.exited.wait()

    async def container_restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        self.calls.append(("restart", ref, timeout, signal))
        self._container(ref)

    async def container_kill(self, ref: str, signal: str | None) -> None:
        c = self._container(ref)
        self.calls.append(("kill", ref, signal))
        c.proc.killed.set()

    async def container_remove(self, ref: str, force: bool, volumes: bool) -> None:
        c = self._container(ref)
        if c.proc.running and not force:
            raise Conflict(f"cannot remove container {ref}: container is running")
        c.proc.killed.set()
        del self.containers[c.id]
        c.removed.set()

    async def container_wait(self, ref: str, condition: str) -> Json:
        c = self._container(ref)
        if condition == "removed":
            await c.removed.wait()
        elif condition == "next-exit" or c.status != "exited":
            await c.proc.exited.wait()
        return {"StatusCode": c.proc.exit_code, "Error": None}

    def container_list(
        self, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[Json]:
        self.calls.append(("list", all, limit, size, filters))
        out: list[Json] = []
        for c in self.containers.values():
            if not all and c.status != "running":
                continue
            if "status" in filters and c.status not in filters["status"]:
                continue
            out.append(
                {
                    "Id": c.id,
                    "Names": [f"/{c.name}"],
                    "Image": c.body.get("Image"),
                    "ImageID": IMAGE_ID,
                    "Command": " ".join(c.proc.argv),
                    "Created": int(c.created),
                    "Ports": [],
                    "Labels": {},
                    "State": c.status,
                    "Status": "Up 1 second" if c.status == "running" else "Exited (0)",
                    "HostConfig": {"NetworkMode": "default"},
                    "NetworkSettings": {"Networks": {}},
                    "Mounts": [],
                }
            )
        return out

    def container_inspect(self, ref: str, size: bool = False) -> Json:
        c = self._container(ref)
        return {
            "Id": c.id,
            "Name": f"/{c.name}",
            "Image": IMAGE_ID,
            "State": {
                "Status": c.status,
                "Running": c.proc.running,
                "ExitCode": c.proc.exit_code or 0,
            },
            "Config": {
                "Tty": c.proc.tty,
                "Image": c.body.get("Image"),
                "Cmd": c.proc.argv,
                "OpenStdin": bool(c.body.get("OpenStdin")),
            },
            "HostConfig": {
                "LogConfig": {"Type": "json-file", "Config": {}},
                **(c.body.get("HostConfig") or {}),
            },
        }

    def container_logs(self, ref: str, **kw: Any) -> tuple[bool, AsyncIterator[Chunk]]:
        c = self._container(ref)
        self.calls.append(("logs", ref, kw))
        wanted = {STDOUT} if kw["stdout"] else set()
        if kw["stderr"]:
            wanted.add(STDERR)
        proc = c.proc

        async def chunks() -> AsyncIterator[Chunk]:
            listener: asyncio.Queue[Chunk | None] = asyncio.Queue()
            backlog = list(proc.log)
            follow = kw["follow"] and proc.exit_code is None
            if follow:
                proc.log_listeners.append(listener)
            try:
                for old in backlog:
                    if old.stream in wanted:
                        yield old
                while follow and (new := await listener.get()) is not None:
                    if new.stream in wanted:
                        yield new
            finally:
                if listener in proc.log_listeners:
                    proc.log_listeners.remove(listener)

        return proc.tty, chunks()

    async def container_attach(self, ref: str, **kw: bool) -> FakeSession:
        self.calls.append(("attach", ref, kw))
        return self._container(ref).proc.attach()

    async def container_resize(self, ref: str, height: int, width: int) -> None:
        self._container(ref)
        self.calls.append(("resize", ref, height, width))

    async def container_rename(self, ref: str, new_name: str) -> None:
        if not new_name:
            raise InvalidArgument("Neither old nor new names may be empty")
        self._container(ref).name = new_name

    async def container_top(self, ref: str, ps_args: str) -> Json:
        self._container(ref)
        return {"Titles": ["PID", "CMD"], "Processes": [["1", ps_args]]}

    # --- exec -------------------------------------------------------------------------
    async def exec_create(self, ref: str, body: Json) -> str:
        c = self._container(ref)
        if not c.proc.running:
            raise Conflict(f"container {c.id} is not running")
        exec_id = hashlib.sha256(f"exec{next(self._ids)}".encode()).hexdigest()
        self.execs[exec_id] = (
            FakeProcess(list(body.get("Cmd") or []), bool(body.get("Tty"))),
            body,
        )
        return exec_id

    async def exec_start(self, exec_id: str, detach: bool, tty: bool) -> FakeSession | None:
        if exec_id not in self.execs:
            raise no_such_exec(exec_id)
        proc, _ = self.execs[exec_id]
        session = None if detach else proc.attach()
        self._spawn(proc)
        return session

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        if exec_id not in self.execs:
            raise no_such_exec(exec_id)
        self.calls.append(("exec_resize", exec_id, height, width))

    def exec_inspect(self, exec_id: str) -> Json:
        if exec_id not in self.execs:
            raise no_such_exec(exec_id)
        proc, body = self.execs[exec_id]
        return {
            "ID": exec_id,
            "Running": proc.running,
            "ExitCode": proc.exit_code,
            "ProcessConfig": {"tty": proc.tty, "entrypoint": proc.argv[0], "arguments": []},
            "OpenStdin": bool(body.get("AttachStdin")),
            "Pid": 42,
        }

    # --- images -----------------------------------------------------------------------
    def image_list(self, all: bool, filters: dict[str, list[str]], digests: bool) -> list[Json]:
        return [
            {"Id": i["Id"], "RepoTags": i["RepoTags"], "Created": 0, "Size": 1, "Containers": -1}
            for i in self.images.values()
        ]

    def image_inspect(self, ref: str) -> Json:
        return self._image(ref)

    def image_history(self, ref: str) -> list[Json]:
        self._image(ref)
        return [{"Id": IMAGE_ID, "CreatedBy": "fake", "Size": 0}]

    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None:
        image = self._image(ref)
        self.images[f"{repo}:{tag or 'latest'}"] = image

    async def image_remove(self, ref: str, force: bool, noprune: bool) -> list[Json]:
        key = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        image = self._image(ref)
        del self.images[key]
        return [{"Untagged": key}, {"Deleted": image["Id"]}]

    async def image_import(
        self,
        source: AsyncIterator[bytes] | str,
        repo: str | None,
        tag: str | None,
        changes: list[str],
        message: str | None,
        platform: str | None,
    ) -> str:
        if isinstance(source, str):
            raise InvalidArgument(f"cannot fetch {source}: no network here")
        data = b"".join([chunk async for chunk in source])
        if data.startswith(b"bad"):
            raise InvalidArgument("archive/tar: invalid tar header")
        self.imported.append(data)
        image_id = "sha256:" + hashlib.sha256(data).hexdigest()
        self.calls.append(("import", repo, tag, changes, message))
        if repo:
            self.images[f"{repo}:{tag or 'latest'}"] = {"Id": image_id, "RepoTags": [repo]}
        return image_id

    # --- events -----------------------------------------------------------------------
    async def _events(self) -> AsyncIterator[Json]:
        assert self.event_queue is not None
        try:
            while True:
                yield await self.event_queue.get()
        finally:
            self.events_closed = True

    def events(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]:
        self.calls.append(("events", since, until, filters))
        self.event_queue = asyncio.Queue()
        self.event_queue.put_nowait({"Type": "container", "Action": "start", "id": "x"})
        return self._events()

    # --- registries and networks: this fake reaches no registry and has no networks -------
    def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        raise NotFound(
            f"pull access denied for {image}, repository does not exist or may require "
            "'docker login'"
        )

    def image_push(self, name: str, tag: str | None, auth: str | None) -> AsyncIterator[Json]:
        raise Unavailable(f"no registry is reachable from this fake to push {name}")

    async def auth(self, body: Json) -> Json:
        raise Unavailable("no registry is reachable from this fake")

    async def image_search(
        self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
    ) -> list[Json]:
        raise Unavailable("no registry is reachable from this fake")

    async def distribution_inspect(self, name: str, auth: str | None) -> Json:
        raise Unavailable("no registry is reachable from this fake")

    def network_list(self, filters: dict[str, list[str]]) -> list[Json]:
        return []

    def network_inspect(self, ref: str, verbose: bool = False) -> Json:
        raise NotFound(f"network {ref} not found")

    async def network_create(self, body: Json) -> Json:
        raise InvalidArgument("this fake makes no networks")

    async def network_remove(self, ref: str) -> None:
        raise NotFound(f"network {ref} not found")

    async def network_prune(self, filters: dict[str, list[str]]) -> Json:
        return {"NetworksDeleted": None}

    async def network_connect(self, ref: str, body: Json) -> None:
        raise NotFound(f"network {ref} not found")

    async def network_disconnect(self, ref: str, body: Json) -> None:
        raise NotFound(f"network {ref} not found")


class PullingEngine(FakeEngine):
    """A fake that can pull: two progress lines, then a failure for ``broken``."""

    def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        self.calls.append(("pull", image, tag, platform, auth))
        if image == "missing":
            raise no_such_image(image)

        async def progress() -> AsyncIterator[Json]:
            yield {"status": f"Pulling from library/{image}", "id": tag or "latest"}
            if image == "broken":
                raise InvalidArgument("manifest unknown")
            yield {"status": f"Status: Downloaded newer image for {image}:{tag or 'latest'}"}

        return progress()
