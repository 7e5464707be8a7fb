"""The engine's shape as issue 16 left it, held so that a change cannot quietly stack the
mixins again: the engine is a facade with no bases, every service it composes is an object
it holds (not a base of it or of another service), and no class in cove.engine has more than
two bases."""

from __future__ import annotations

import asyncio
import inspect
import pkgutil
from importlib import import_module
from pathlib import Path

import cove.engine as pkg
from cove.build.backend import BuildBackend
from cove.engine.containers.create import ContainerCreator
from cove.engine.containers.execs import ExecService
from cove.engine.containers.health import HealthMonitor
from cove.engine.containers.query import ContainerQuery
from cove.engine.containers.restart import RestartPolicy
from cove.engine.containers.service import ContainerService
from cove.engine.core import Engine
from cove.engine.facade import EngineFacade
from cove.engine.fs.archive import ArchiveOps
from cove.engine.fs.volumes import VolumeService
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.images.service import ImageService
from cove.engine.networks.overlay import Overlay
from cove.engine.networks.service import NetworkOps
from cove.engine.system import SystemService
from cove.testing.engine import test_engine
from cove.util.forward import Forward

HELD = (
    ContainerService, VolumeService, ExecService, ImageService, SystemService, NetworkOps,
    RegistryOps, ArchiveOps, ExportOps, HealthMonitor, RestartPolicy, ContainerCreator,
    ContainerQuery,
)  # fmt: skip


def test_no_class_in_the_engine_has_more_than_two_bases() -> None:
    wide = []
    for info in pkgutil.walk_packages(pkg.__path__, "cove.engine."):
        mod = import_module(info.name)
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == info.name and len(cls.__bases__) > 2:
                wide.append(f"{info.name}.{cls.__name__}")
    assert wide == []


def test_the_engine_is_a_facade_over_held_services() -> None:
    assert Engine.__bases__ == (object,)
    for service in HELD:
        assert not issubclass(Engine, service), service
        others = [s for s in HELD if s is not service and issubclass(service, s)]
        assert others == [], service
    assert not issubclass(NetworkOps, Overlay)
    assert not issubclass(Overlay, NetworkOps)


def _members(protocol: type) -> set[str]:
    own = {n for n in vars(protocol) if not n.startswith("_")}
    return own | set(getattr(protocol, "__annotations__", {}))


def test_the_engine_has_what_the_api_and_the_builder_read(tmp_path: Path) -> None:
    """The API hands its engine to the builder as a BuildBackend (a cast, which mypy cannot
    check): every member of that Protocol and of the facade must be on a real engine."""

    async def main() -> None:
        te = test_engine(str(tmp_path))
        try:
            missing = [
                n for n in sorted(_members(BuildBackend) | _members(EngineFacade))
                if not hasattr(te.engine, n)
            ]  # fmt: skip
            assert missing == []
        finally:
            te.close()

    asyncio.run(main())


def test_each_forward_reaches_the_service_that_owns_it(tmp_path: Path) -> None:
    """The facade's table (``Forward(attr, Service.method)``): the attribute is one the
    engine holds and its object's class has that very method, or the method is a function
    of the context (``ctx``) or of the container service (the one-operation modules), so a
    call never lands on another service's method of the same name."""

    async def main() -> None:
        te = test_engine(str(tmp_path))
        try:
            table = {n: f for n, f in vars(Engine).items() if isinstance(f, Forward)}
            assert len(table) > 50
            for name, f in table.items():
                held = vars(te.engine)[f.attr]
                owns = getattr(type(held), f.method.__name__, None) is f.method
                function_of = f.method.__module__.startswith("cove.engine.containers.")
                assert owns or f.attr == "ctx" or (f.attr == "container_service" and function_of), (
                    name
                )
                assert callable(getattr(te.engine, name)), name
        finally:
            te.close()

    asyncio.run(main())
