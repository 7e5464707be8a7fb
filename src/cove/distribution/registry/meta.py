"""Which compressed blob, in which repository, carried each layer (Docker's "v2 metadata").

A pull records diff ID -> (blob digest, size, media type, repository); a push uses it to skip
layers the target already has, to mount them from another repository of the same registry
and to reuse the exact blob (so pushing a pulled image keeps its manifest digest when the
blob is still there).  One small JSON file, rewritten atomically; losing it only costs speed.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from cove.util.fs import atomic_write_json, read_json

_MAX_PER_LAYER = 16


class LayerMetadata:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            data = read_json(path)
        except (OSError, ValueError):
            data = {}
        self._data: dict[str, list[dict[str, Any]]] = data if isinstance(data, dict) else {}

    def get(self, diff_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._data.get(diff_id, []))

    def add(self, diff_id: str, digest: str, size: int, media_type: str, repo: str) -> None:
        entry = {"digest": digest, "size": size, "mediaType": media_type, "repo": repo}
        with self._lock:
            rows = [r for r in self._data.get(diff_id, []) if r != entry]
            rows.insert(0, entry)
            self._data[diff_id] = rows[:_MAX_PER_LAYER]
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            atomic_write_json(self.path, self._data, 0o600, sync=False)
