"""The engine's services built alone from the shared context, without an Engine: each takes
only what it is handed (the context, another service, a step), so each can be tested (and
wired) on its own.  No root: the local image and volume stores in a temporary directory,
MemorySnapshotter and FakeRuntime."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.engine.containers.execs import ExecService
from cove.engine.context import EngineContext, EngineOptions, HostInfo, Paths
from cove.engine.fs.volumes import VolumeService
from cove.engine.images.service import ImageService
from cove.engine.record import Container
from cove.engine.system import SystemService
from cove.errors import Conflict, NotFound, NotImplementedYet
from cove.image.local import LocalImageStore
from cove.store.local import LocalBlobStore
from cove.testing.engine import EMPTY_IMAGE
from cove.testing.runtime import FakeRuntime
from cove.testing.snapshot import MemorySnapshotter
from cove.util.jsontypes import Json
from cove.volume.local import LocalVolumeDriver


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[EngineContext]:
    data, exec_root = str(tmp_path / "data"), str(tmp_path / "exec")
    os.makedirs(data)
    os.makedirs(exec_root)
    snap = MemorySnapshotter(os.path.join(data, "memory"))
    images = LocalImageStore(data, LocalBlobStore(data), snap)
    img = images.create(dict(EMPTY_IMAGE))
    images.tag(img.id, "busybox:latest")
    runtime = FakeRuntime()
    options = EngineOptions(runtime_name=runtime.name, storage_driver=snap.name)
    yield EngineContext(Paths(data, exec_root), images, snap, runtime, HostInfo(), options)
    runtime.close()


def _volumes(ctx: EngineContext) -> VolumeService:
    return VolumeService(ctx, LocalVolumeDriver(os.path.join(ctx.paths.data_root, "volumes")))


def _actions(ctx: EngineContext, kind: str) -> list[str]:
    return [e["Action"] for e in ctx.bus.recent() if e["Type"] == kind]


def test_volume_service_over_the_context_alone(ctx: EngineContext) -> None:
    vols = _volumes(ctx)
    asyncio.run(vols.volume_create({"Name": "data", "Labels": {"team": "a"}}))
    listed = vols.volume_list({"label": ["team=a"]})["Volumes"]
    assert [v["Name"] for v in listed] == ["data"]
    assert vols.volume_inspect("data")["Labels"] == {"team": "a"}
    asyncio.run(vols.volume_remove("data", force=False))
    with pytest.raises(NotFound):
        vols.volume_inspect("data")
    assert _actions(ctx, "volume") == ["create", "destroy"]


def test_volume_service_without_a_driver_says_so(ctx: EngineContext) -> None:
    vols = VolumeService(ctx, None)
    with pytest.raises(NotImplementedYet, match="no volume driver"):
        vols.volume_list({})


def test_image_service_over_the_context_alone(ctx: EngineContext) -> None:
    images = ImageService(ctx)
    listed = images.image_list(False, {}, False)
    assert [i["RepoTags"] for i in listed] == [["busybox:latest"]]
    asyncio.run(images.image_tag("busybox", "mine", "v1"))
    assert images.image_inspect("mine:v1")["RepoTags"] == ["busybox:latest", "mine:v1"]
    out = asyncio.run(images.image_remove("mine:v1", force=False, noprune=False))
    assert out == [{"Untagged": "mine:v1"}]
    assert _actions(ctx, "image") == ["tag", "untag"]


def test_image_service_sees_the_context_s_containers(ctx: EngineContext, tmp_path: Path) -> None:
    """An image a container uses is not deleted by ID without force: the service reads the
    one container table of the context."""
    images = ImageService(ctx)
    img = ctx.images.resolve("busybox")
    ctx.containers["c1"] = Container(
        {"Id": "c1", "Name": "/web", "Image": img.id, "State": {"Status": "exited"}},
        str(tmp_path / "c1"),
    )
    with pytest.raises(Conflict, match="stopped container c1"):
        asyncio.run(images.image_remove(img.id, force=False, noprune=False))


def test_system_service_df_from_the_image_and_volume_services(ctx: EngineContext) -> None:
    vols = _volumes(ctx)
    asyncio.run(vols.volume_create({"Name": "cache"}))
    listed: list[tuple[bool, int, bool, dict[str, list[str]]]] = []

    def containers(all: bool, limit: int, size: bool, f: dict[str, list[str]]) -> list[Json]:
        listed.append((all, limit, size, f))
        return []

    system = SystemService(ctx, ImageService(ctx), vols, containers)
    df = system.system_df()
    assert [i["RepoTags"] for i in df["Images"]] == [["busybox:latest"]]
    assert [v["Name"] for v in df["Volumes"]] == ["cache"]
    assert df["Containers"] == [] and listed == [(True, 0, True, {})]
    assert system.info()["Containers"] == 0


def test_exec_service_looks_containers_up_in_the_context(ctx: EngineContext) -> None:
    synced: list[str] = []

    async def sync(c: Container) -> None:
        synced.append(c.id)

    execs = ExecService(ctx, sync, lambda c, body: {})
    with pytest.raises(NotFound, match="No such container: nope"):
        asyncio.run(execs.exec_create("nope", {"Cmd": ["true"]}))
    with pytest.raises(NotFound):
        execs.exec_inspect("0123")
    assert synced == [] and execs.exec_ids("any") == []
