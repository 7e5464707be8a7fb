"""Pure parts of the classic build API details: the RUN output stream (stderr in red,
gathered into lines), ``--cache-from`` sources over a fake image store, ``extrahosts``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cove.api.http import Request
from cove.api.routes_build import options
from cove.build.cachefrom import CacheSources
from cove.build.output import run_output
from cove.errors import NotFound
from cove.image.base import Image
from cove.util.streams import STDERR, STDOUT, Chunk

R, E = "\x1b[91m", "\x1b[0m"


class FakeSession:
    tty = False

    def __init__(self, chunks: list[tuple[int, bytes, float]]) -> None:
        self.chunks = chunks  # (stream, data, seconds before it arrives)

    async def read(self) -> Chunk | None:
        if not self.chunks:
            return None
        stream, data, delay = self.chunks.pop(0)
        await asyncio.sleep(delay)
        return Chunk(stream, data)


def _collect(chunks: list[tuple[int, bytes, float]]) -> list[str]:
    async def go() -> list[str]:
        return [m["stream"] async for m in run_output(FakeSession(chunks))]  # type: ignore[arg-type]

    return asyncio.run(go())


def test_stderr_is_red_and_pieces_of_a_line_stay_together() -> None:
    out = _collect([(STDERR, b"+ ", 0), (STDERR, b"echo", 0), (STDERR, b" x\n", 0),
                    (STDOUT, b"x\n", 0)])  # fmt: skip
    assert out == [f"{R}+ echo x\n{E}", "x\n"]


def test_stdout_unchanged_and_partial_stderr_flushed_before_it() -> None:
    out = _collect([(STDOUT, b"a", 0), (STDERR, b"half", 0), (STDOUT, b"b\n", 0)])
    assert out == ["a", f"{R}half{E}", "b\n"]


def test_partial_stderr_is_not_held_forever_and_utf8_split_is_joined() -> None:
    out = _collect([(STDERR, b"wait\xc3", 0), (STDERR, b"\xa9", 0.3), (STDERR, b"\r", 0)])
    assert out[0] == f"{R}wait{E}"  # sent after the hold, the half character kept back
    assert "".join(out[1:]) == f"{R}\u00e9\r{E}"


class FakeImages:
    def __init__(self) -> None:
        self.images: dict[str, Image] = {}
        self.parents: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.created: list[bytes] = []

    def add(self, iid: str, history: list[Any], diffs: list[str], parent: str | None) -> None:
        cfg = {"history": history, "rootfs": {"type": "layers", "diff_ids": diffs}}
        self.images[iid] = Image(iid, cfg)
        if parent:
            self.parents[iid] = parent

    def resolve(self, ref: str) -> Image:
        iid = self.names.get(ref, ref)
        if iid not in self.images:
            raise NotFound(f"No such image: {ref}")
        return self.images[iid]

    def parent(self, image_id: str) -> str | None:
        return self.parents.get(image_id)

    def create_raw(self, raw: bytes, parent: str | None = None) -> Image:
        self.created.append(raw)
        iid = f"sha256:new{len(self.created)}"
        self.images[iid] = Image(iid, json.loads(raw))
        return self.images[iid]


def test_sources_allow_their_parent_chain_only() -> None:
    st = FakeImages()
    st.add("base", [{"created_by": "b"}], ["d0"], None)
    st.add("s1", [], ["d0"], "base")
    st.add("s2", [], ["d0"], "s1")
    st.add("other", [], ["d0"], "base")
    st.names["src"] = "s2"
    src = CacheSources(st, ["nosuch", "src"])  # type: ignore[arg-type]
    assert all(src.allows(i) for i in ("s2", "s1", "base")) and not src.allows("other")
    assert not CacheSources(st, ["nosuch"]).allows("s1")  # type: ignore[arg-type]


def test_history_match_restores_steps_and_returns_the_source_last() -> None:
    st = FakeImages()
    base_h = [{"created_by": "base"}]
    hist = [*base_h, {"created_by": "ENV", "empty_layer": True}, {"created_by": "RUN x"}]
    st.add("loaded", hist, ["d0", "d1"], None)
    src = CacheSources(st, ["loaded"])  # type: ignore[arg-type]
    stage = {"config": {"Env": ["A=1"]}, "history": base_h,
             "rootfs": {"type": "layers", "diff_ids": ["d0"]}}  # fmt: skip
    assert src.match(stage, "base", "RUN x") is None  # not the next entry
    new = src.match(stage, "base", "ENV")
    assert new is not None
    cfg = st.images[new].config
    assert cfg["history"] == hist[:2] and cfg["rootfs"]["diff_ids"] == ["d0"]
    assert cfg["config"] == {"Env": ["A=1"]}
    assert src.match(cfg, new, "RUN x") == "loaded"


def test_extrahosts_query_is_repeated() -> None:
    q = {"extrahosts": ["a.test:127.0.0.1", "b.test:10.0.0.1"]}
    req = Request("POST", "/build", q, {}, None, (1, 44))  # type: ignore[arg-type]
    assert options(req).extrahosts == ["a.test:127.0.0.1", "b.test:10.0.0.1"]
