"""The container operations of issue 3 as one mixin for ``Engine``: each family in its own
module, their overrides of stop/kill/start/remove chained through ``super()``."""

from __future__ import annotations

from cove.engine.detach import DetachOps
from cove.engine.health import HealthOps
from cove.engine.pause import PauseOps
from cove.engine.prune import PruneOps
from cove.engine.restart import RestartOps
from cove.engine.stats import StatsOps
from cove.engine.top import TopOps
from cove.engine.update import UpdateOps


class OpsMixins(DetachOps, RestartOps, HealthOps, PauseOps, StatsOps, TopOps, UpdateOps, PruneOps):
    pass
