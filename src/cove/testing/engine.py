"""An engine for unit tests: the real engine code over the fakes of this package.

``test_engine(root)`` builds it in a temporary directory (no root needed): the local image
store with one empty ``busybox:latest`` image, ``MemorySnapshotter``, ``FakeRuntime`` and
``FakeNetworking``.  Call it inside the running event loop; ``close()`` the runtime after.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cove.engine.assemble import assemble
from cove.engine.context import EngineContext, EngineOptions, HostInfo, Paths
from cove.engine.core import Engine
from cove.image.local import LocalImageStore
from cove.store.local import LocalBlobStore
from cove.testing.networking import FakeNetworking
from cove.testing.runtime import FakeRuntime
from cove.testing.snapshot import MemorySnapshotter
from cove.volume.local import LocalVolumeDriver

EMPTY_IMAGE = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": []},
}


@dataclass
class TestEngine:
    engine: Engine
    runtime: FakeRuntime
    net: FakeNetworking
    snapshotter: MemorySnapshotter

    def close(self) -> None:
        self.runtime.close()


def test_engine(root: str) -> TestEngine:
    data, exec_root = os.path.join(root, "data"), os.path.join(root, "exec")
    os.makedirs(data, exist_ok=True)
    os.makedirs(exec_root, exist_ok=True)
    snap = MemorySnapshotter(os.path.join(data, "memory"))
    images = LocalImageStore(data, LocalBlobStore(data), snap)
    runtime = FakeRuntime()
    ctx = EngineContext(
        Paths(data, exec_root),
        images,
        snap,
        runtime,
        HostInfo(),
        EngineOptions(runtime_name=runtime.name, storage_driver=snap.name),
    )
    engine = assemble(ctx, LocalVolumeDriver(os.path.join(data, "volumes")))
    net = FakeNetworking()
    engine.net = net
    img = images.create(dict(EMPTY_IMAGE))
    images.tag(img.id, "busybox:latest")
    return TestEngine(engine, runtime, net, snap)


test_engine.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
TestEngine.__test__ = False  # type: ignore[attr-defined]
