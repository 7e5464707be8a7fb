"""The engine's shape as issue 16 left it, held so that a change cannot quietly stack the
mixins again: no class in cove.engine has more than three bases, and the services the
engine holds (networks with their overlay driver, registry client, cp, save/load/export)
are objects, not bases of the engine or of each other."""

from __future__ import annotations

import inspect
import pkgutil
from importlib import import_module

import cove.engine as pkg
from cove.engine.core import Engine
from cove.engine.fs.archive import ArchiveOps
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.networks.overlay import Overlay
from cove.engine.networks.service import NetworkOps


def test_no_class_in_the_engine_has_more_than_three_bases() -> None:
    wide = []
    for info in pkgutil.walk_packages(pkg.__path__, "cove.engine."):
        mod = import_module(info.name)
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ == info.name and len(cls.__bases__) > 3:
                wide.append(f"{info.name}.{cls.__name__}")
    assert wide == []


def test_services_are_held_not_inherited() -> None:
    for service in (NetworkOps, RegistryOps, ArchiveOps, ExportOps):
        assert not issubclass(Engine, service), service
    assert not issubclass(NetworkOps, Overlay)
    assert not issubclass(Overlay, NetworkOps)
