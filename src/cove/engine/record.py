"""The daemon's record of one container: Docker's inspect object plus cove's private notes.

The record is a cache of what the runtime knows; it is written atomically after every change
so a crashed daemon finds either the old or the new version.
"""

from __future__ import annotations

import logging
import os

from cove.engine.state import Status
from cove.util.fs import atomic_write_json, read_json
from cove.util.jsontypes import Json

RECORD = "config.v2.json"
log = logging.getLogger("cove.engine")


class Container:
    def __init__(self, data: Json, directory: str) -> None:
        self.data = data
        self.dir = directory

    # --- identity -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data["Id"])

    @property
    def name(self) -> str:
        """Without the leading slash."""
        return str(self.data["Name"]).lstrip("/")

    @property
    def config(self) -> Json:
        return self.data["Config"]  # type: ignore[no-any-return]

    @property
    def host_config(self) -> Json:
        return self.data["HostConfig"]  # type: ignore[no-any-return]

    @property
    def state(self) -> Json:
        return self.data["State"]  # type: ignore[no-any-return]

    @property
    def status(self) -> Status:
        return Status(self.state["Status"])

    @property
    def private(self) -> Json:
        """Facts only cove needs: the monitor's pid, the process' start time."""
        return self.data.setdefault("_cove", {})  # type: ignore[no-any-return]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    # --- persistence ----------------------------------------------------------------------
    def save(self) -> None:
        # fsync is skipped: the runtime is the truth and reconcile repairs a stale record,
        # while an fsync per state change would cost milliseconds on every run.
        atomic_write_json(os.path.join(self.dir, RECORD), self.data, mode=0o600, sync=False)

    def save_state(self) -> None:
        """Save after a change that has already happened in the runtime (an exit, a start,
        a removal begun): a record that cannot be written (a full disk) is logged, not
        raised, so the operation completes and its waiters hear of it; the next save, or the
        reconcile at daemon start, brings the file up to date."""
        try:
            self.save()
        except OSError as e:
            log.warning("container %s: record not saved: %s", self.id[:12], e)

    @classmethod
    def load(cls, directory: str) -> Container:
        return cls(read_json(os.path.join(directory, RECORD)), directory)

    def public(self) -> Json:
        return {k: v for k, v in self.data.items() if not k.startswith("_")}
