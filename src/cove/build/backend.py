"""What the builder needs from the engine below it (L5), as a narrow Protocol.

The engine implements it as it is; the API layer hands its engine in.  Containers for RUN
are created, started, attached, waited for, committed and removed through the engine's
public operations, so they are ordinary containers for events and cleanup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from cove.errors import InvalidArgument
from cove.image.base import ImageStore
from cove.util.jsontypes import Json
from cove.util.streams import AttachSession


class BuildBackend(Protocol):
    images: ImageStore
    snapshotter: Any  # read-only layer lookups (see rootfs.layer_dirs)
    paths: Any  # .data_root and .tmp

    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]: ...

    async def container_start(self, ref: str) -> None: ...

    async def container_attach(
        self, ref: str, *, stdin: bool, stdout: bool, stderr: bool, logs: bool, stream: bool
    ) -> AttachSession: ...

    async def container_wait(self, ref: str, condition: str) -> Json: ...

    async def container_remove(self, ref: str, force: bool, volumes: bool) -> None: ...

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
    ) -> str: ...


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    quiet: bool = False
    nocache: bool = False
    pull: bool = False
    rm: bool = True
    forcerm: bool = False
    buildargs: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    network: str | None = None
    platform: str | None = None
    cachefrom: list[str] = field(default_factory=list)
    extrahosts: list[str] = field(default_factory=list)  # "name:ip", /etc/hosts of RUN
    check: bool = False  # cove build --check: run the build checks only
    secrets: dict[str, bytes] = field(default_factory=dict)  # RUN --mount=type=secret values
    ssh: dict[str, str] = field(default_factory=dict)  # ssh id -> the client's agent socket


class BuildError(InvalidArgument):
    """A build failure reported in the stream; ``code`` is a failed RUN's exit code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
