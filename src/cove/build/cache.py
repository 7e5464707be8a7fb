"""The build cache: step key -> image ID, in a small index under the data root.

A key is Docker's: the parent image ID plus the step as it will be recorded (``created_by``
after expansion, with the build args RUN sees, and for COPY/ADD the checksum of every file's
content and metadata).  An entry whose image is gone is a miss.  The index is rewritten
atomically; a lost write only costs a rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading

from cove.util.fs import atomic_write_json, read_json

_LOCK = threading.Lock()
_MAX_ENTRIES = 20000


def step_key(parent: str | None, created_by: str, extra: str = "") -> str:
    h = hashlib.sha256()
    h.update(json.dumps([parent or "scratch", created_by, extra]).encode())
    return h.hexdigest()


class BuildCache:
    def __init__(self, data_root: str) -> None:
        self.path = os.path.join(data_root, "build", "cache.json")
        self._entries: dict[str, str] = {}
        self._dirty: dict[str, str] = {}
        try:
            data = read_json(self.path)
            if isinstance(data, dict):
                self._entries = {str(k): str(v) for k, v in data.get("steps", {}).items()}
        except (OSError, ValueError):
            pass

    def get(self, key: str) -> str | None:
        return self._dirty.get(key) or self._entries.get(key)

    def put(self, key: str, image_id: str) -> None:
        self._dirty[key] = image_id

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)
        self._dirty.pop(key, None)

    def save(self) -> None:
        """Merge our new entries into what is on disk (other builds may have written)."""
        if not self._dirty:
            return
        with _LOCK:
            try:
                data = read_json(self.path)
                current = dict(data.get("steps", {})) if isinstance(data, dict) else {}
            except (OSError, ValueError):
                current = {}
            current.update(self._dirty)
            if len(current) > _MAX_ENTRIES:
                current = dict(list(current.items())[-_MAX_ENTRIES:])
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            atomic_write_json(self.path, {"steps": current}, 0o600)
            self._entries = current
            self._dirty = {}
