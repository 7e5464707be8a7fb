"""All-or-nothing image writes (load, commit): a journal names what a transaction adds.

Before a transaction records a new image it writes the image's ID to its journal file
(``<store>/image/txn-*.json``, atomically); names are applied together at ``commit``, which
then deletes the journal.  ``abort`` removes the new images; a crash leaves the journal,
and the store's ``recover`` (at open) removes every journalled image that no name points
at, so a load or commit interrupted by ``kill -9`` leaves no image visible: its layers are
then unreferenced and the gc collects them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING, Any

from cove.errors import NotFound
from cove.oci.digest import sha256_bytes
from cove.util.fs import atomic_write_json, read_json

if TYPE_CHECKING:
    from cove.image.base import Image
    from cove.image.local import LocalImageStore

PREFIX = "txn-"


class ImageTxn:
    def __init__(self, store: LocalImageStore) -> None:
        self.store = store
        fd, self.journal = tempfile.mkstemp(dir=store.dir, prefix=PREFIX, suffix=".json")
        os.close(fd)
        self.new: list[str] = []
        self.names: list[tuple[str, str]] = []  # (image ID, reference)
        self._open = True  # the empty journal file already marks the transaction

    def _write(self) -> None:
        atomic_write_json(self.journal, {"new": self.new}, 0o600)

    def create_raw(self, raw: bytes, parent: str | None = None) -> Image:
        image_id = sha256_bytes(raw)
        if not self.store.has_image(image_id) and image_id not in self.new:
            self.new.append(image_id)
            self._write()  # journalled before the record exists
        return self.store.create_raw(raw, parent=parent)

    def tag(self, image_id: str, ref: str) -> None:
        self.names.append((image_id, ref))

    def commit(self) -> list[tuple[str, str, str | None]]:
        """Apply the names; returns (reference, image ID, ID it pointed at before)."""
        moved = self.store.tag_many(self.names)
        self._close()
        return moved

    def abort(self) -> None:
        if not self._open:
            return
        for image_id in reversed(self.new):
            with contextlib.suppress(NotFound):
                self.store.delete_if_unnamed(image_id)
        self._close()

    def _close(self) -> None:
        self._open = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)

    def __enter__(self) -> ImageTxn:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        if exc_type is not None or self._open:
            self.abort()


def leftover_journals(directory: str) -> list[tuple[str, list[str]]]:
    """Journals of transactions that never finished: (path, image IDs they added)."""
    out: list[tuple[str, list[str]]] = []
    for name in sorted(os.listdir(directory)):
        if not name.startswith(PREFIX):
            continue
        path = os.path.join(directory, name)
        try:
            data = read_json(path)
            ids = [str(i) for i in data.get("new", [])] if isinstance(data, dict) else []
        except (OSError, ValueError):
            ids = []
        out.append((path, ids))
    return out
