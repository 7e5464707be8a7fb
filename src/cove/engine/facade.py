"""What the API layer may call: the engine's public operations, Docker-shaped.

Bodies and results are the Docker Engine API JSON objects (``Config``/``HostConfig`` for create,
the ``inspect`` object, the ``ps`` summary), so routes stay thin translators of query strings
and streams.  Every method raises ``cove.errors`` categories, never HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from cove.util.jsontypes import Json
from cove.util.streams import AttachSession, Chunk


class EngineFacade(Protocol):
    # --- system -------------------------------------------------------------------------
    def version(self) -> Json: ...

    def info(self) -> Json: ...

    # --- containers ---------------------------------------------------------------------
    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]:
        """Returns (id, warnings).  Raises NotFound("No such image: x") and Conflict for a
        taken name."""
        ...

    async def container_start(self, ref: str) -> None:
        """NotModified when already running."""
        ...

    async def container_stop(self, ref: str, timeout: int | None, signal: str | None) -> None: ...

    async def container_restart(
        self, ref: str, timeout: int | None, signal: str | None
    ) -> None: ...

    async def container_kill(self, ref: str, signal: str | None) -> None: ...

    async def container_remove(self, ref: str, force: bool, volumes: bool) -> None: ...

    async def container_remove_link(self, name: str) -> None:
        """``DELETE /containers/{parent}/{alias}?link=1``: drop a legacy link."""
        ...

    async def container_wait(self, ref: str, condition: str) -> Json:
        """Blocks until the condition ("not-running" default, "next-exit", "removed") holds;
        returns {"StatusCode": n, "Error": null}.  Call ``container_inspect`` first to fail
        fast on a missing container: the route must send its headers before blocking."""
        ...

    def container_list(
        self, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[Json]: ...

    def container_inspect(self, ref: str, size: bool = False) -> Json: ...

    def container_logs(
        self,
        ref: str,
        *,
        follow: bool,
        stdout: bool,
        stderr: bool,
        since: float,
        until: float,
        timestamps: bool,
        tail: str,
    ) -> tuple[bool, AsyncIterator[Chunk]]:
        """(tty, chunks).  With ``timestamps`` each line's chunk starts with an RFC3339Nano
        stamp and a space.  The iterator ends at the end of the log, or when a followed
        container stops."""
        ...

    async def container_attach(
        self,
        ref: str,
        *,
        stdin: bool,
        stdout: bool,
        stderr: bool,
        logs: bool,
        stream: bool,
        detach_keys: str = "",
    ) -> AttachSession:
        """May be called before start (docker run): the session then receives output from the
        first byte the process writes."""
        ...

    async def container_resize(self, ref: str, height: int, width: int) -> None: ...

    async def container_rename(self, ref: str, new_name: str) -> None: ...

    async def container_top(self, ref: str, ps_args: str) -> Json: ...

    # --- operations (pause, stats, update, prune: engine/pause.py and friends) ----------
    async def container_pause(self, ref: str) -> None: ...

    async def container_unpause(self, ref: str) -> None: ...

    def container_stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[Json]:
        """Docker's stats objects: one (after a second, with precpu) or one a second."""
        ...

    async def container_update(self, ref: str, body: Json) -> list[str]:
        """Resources and restart policy; returns warnings."""
        ...

    async def containers_prune(self, filters: dict[str, list[str]]) -> Json: ...

    # --- exec ---------------------------------------------------------------------------
    async def exec_create(self, ref: str, body: Json) -> str: ...

    async def exec_start(self, exec_id: str, detach: bool, tty: bool) -> AttachSession | None:
        """None when detached; otherwise the process is started and its stdio attached."""
        ...

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None: ...

    def exec_inspect(self, exec_id: str) -> Json: ...

    # --- images -------------------------------------------------------------------------
    def image_list(self, all: bool, filters: dict[str, list[str]], digests: bool) -> list[Json]: ...

    def image_inspect(self, ref: str) -> Json: ...

    def image_history(self, ref: str) -> list[Json]: ...

    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None: ...

    async def image_remove(self, ref: str, force: bool, noprune: bool) -> list[Json]:
        """[{"Untagged": name} | {"Deleted": id}, ...] as Docker answers."""
        ...

    async def image_import(
        self,
        source: AsyncIterator[bytes] | str,
        repo: str | None,
        tag: str | None,
        changes: list[str],
        message: str | None,
        platform: str | None,
    ) -> str:
        """``source`` is the request body or a URL; returns the new image ID."""
        ...

    async def container_commit(
        self,
        ref: str,
        repo: str | None,
        tag: str | None,
        comment: str,
        author: str,
        changes: list[str],
        pause: bool,
        config: Json | None,
    ) -> str:
        """``docker commit``: the container's diff as a new layer on its image; returns the
        new image ID.  ``config`` overrides the container's config (POST /commit body)."""
        ...

    # --- images as files, container diffs (engine/export.py, changes.py, images.py) ------
    def container_changes(self, ref: str) -> list[Json]:
        """``docker diff``: [{"Path": "/etc/x", "Kind": 0 modified | 1 added | 2 deleted}]."""
        ...

    def container_export(self, ref: str) -> AsyncIterator[bytes]:
        """The merged root filesystem as a tar; NotFound is raised before streaming."""
        ...

    def image_save(self, names: list[str]) -> AsyncIterator[bytes]:
        """A docker-archive of the images; unknown names raise before streaming."""
        ...

    def image_load(self, body: AsyncIterator[bytes], quiet: bool) -> AsyncIterator[Json]:
        """Docker's JSON messages (``stream``: "Loaded image: x"); errors end the stream
        with an ``errorDetail`` message, as dockerd (which answers 200 first)."""
        ...

    async def images_prune(self, filters: dict[str, list[str]]) -> Json:
        """{"ImagesDeleted": [...], "SpaceReclaimed": n}."""
        ...

    def system_df(self) -> Json: ...

    def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        """Docker's JSON progress messages; an error before the first message is raised,
        a later one is sent as an ``errorDetail`` message by the route."""
        ...

    def image_push(self, name: str, tag: str | None, auth: str | None) -> AsyncIterator[Json]:
        """Progress messages as for a pull; ``auth`` is the raw ``X-Registry-Auth``."""
        ...

    # --- registries ---------------------------------------------------------------------
    async def auth(self, body: Json) -> Json:
        """``POST /auth``: check the credentials against the registry."""
        ...

    async def image_search(
        self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
    ) -> list[Json]: ...

    async def distribution_inspect(self, name: str, auth: str | None) -> Json:
        """``GET /distribution/{name}/json``: the registry's descriptor and platforms."""
        ...

    # --- networks -----------------------------------------------------------------------
    def network_list(self, filters: dict[str, list[str]]) -> list[Json]: ...

    def network_inspect(self, ref: str, verbose: bool = False) -> Json: ...

    async def network_create(self, body: Json) -> Json: ...

    async def network_remove(self, ref: str) -> None: ...

    async def network_prune(self, filters: dict[str, list[str]]) -> Json: ...

    async def network_connect(self, ref: str, body: Json) -> None: ...

    async def network_disconnect(self, ref: str, body: Json) -> None: ...

    # --- events -------------------------------------------------------------------------
    def events(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]: ...

    # --- volumes ------------------------------------------------------------------------
    async def volume_create(self, body: Json) -> Json:
        """``POST /volumes/create``: the volume object; an existing name is returned as is."""
        ...

    def volume_list(self, filters: dict[str, list[str]]) -> Json:
        """{"Volumes": [...], "Warnings": null}."""
        ...

    def volume_inspect(self, name: str) -> Json: ...

    async def volume_remove(self, name: str, force: bool) -> None:
        """Conflict while a container uses it; ``force`` ignores a missing volume."""
        ...

    async def volume_prune(self, filters: dict[str, list[str]], all_volumes: bool) -> Json:
        """{"VolumesDeleted": [...], "SpaceReclaimed": n}."""
        ...

    # --- container archives (docker cp) --------------------------------------------------
    async def container_archive_stat(self, ref: str, path: str) -> Json:
        """The stat of ``path`` in the container (``X-Docker-Container-Path-Stat``)."""
        ...

    async def container_archive_get(self, ref: str, path: str) -> tuple[Json, AsyncIterator[bytes]]:
        """(stat, tar chunks) of ``path``; the tar's top entry is named after ``path``."""
        ...

    async def container_archive_put(
        self,
        ref: str,
        path: str,
        body: AsyncIterator[bytes],
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        """Extract the tar ``body`` into the directory ``path`` of the container."""
        ...
