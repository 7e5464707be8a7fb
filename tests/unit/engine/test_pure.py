"""The engine's pure helpers: config merging, names, signals, log parsing, /etc files."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from cove.engine.containers import names
from cove.engine.containers.create import default_host_config, merge_config, merge_env
from cove.engine.containers.etcfiles import hosts_text, resolv_text
from cove.engine.containers.signals import parse_signal
from cove.engine.logs import read_log, tail_count
from cove.engine.state import Status, allowed
from cove.errors import InvalidArgument
from cove.image.base import Image
from cove.util.streams import STDERR, STDOUT
from cove.util.units import human_duration, human_size


def _image(cfg: dict[str, object]) -> Image:
    return Image(id="sha256:" + "a" * 64, config={"config": cfg, "rootfs": {"diff_ids": []}})


def test_merge_env_user_wins_keeps_order() -> None:
    assert merge_env(["PATH=/bin", "A=1"], ["A=2", "B=3"]) == ["PATH=/bin", "A=2", "B=3"]


def test_merge_config_cmd_entrypoint_rules() -> None:
    img = _image({"Cmd": ["sh"], "Entrypoint": None, "Env": ["PATH=/bin"], "WorkingDir": "/w"})
    cfg = merge_config({"Image": "x"}, img, "c" * 64)
    assert cfg["Cmd"] == ["sh"] and cfg["WorkingDir"] == "/w" and cfg["Hostname"] == "c" * 12
    cfg = merge_config({"Image": "x", "Cmd": ["ls"]}, img, "c" * 64)
    assert cfg["Cmd"] == ["ls"]
    # an entrypoint from the user drops the image's default arguments
    cfg = merge_config({"Image": "x", "Entrypoint": ["echo"]}, img, "c" * 64)
    assert cfg["Entrypoint"] == ["echo"] and cfg["Cmd"] is None
    with pytest.raises(InvalidArgument):
        merge_config({"Image": "x", "WorkingDir": "rel"}, img, "c" * 64)


def test_default_host_config() -> None:
    hc = default_host_config({"NetworkMode": ""})
    assert hc["NetworkMode"] == "default"
    assert hc["RestartPolicy"]["Name"] == "no"


def test_names() -> None:
    assert names.validate("/web") == "web"
    for bad in ("w", "-x", "a b", "x/y"):
        with pytest.raises(InvalidArgument):
            names.validate(bad)
    taken = {"a_b"}
    n = names.generate(taken)
    assert n not in taken and "_" in n


def test_signals() -> None:
    assert parse_signal("KILL") == signal.SIGKILL
    assert parse_signal("sigterm") == signal.SIGTERM
    assert parse_signal("9") == 9
    assert parse_signal(None) == signal.SIGTERM
    with pytest.raises(InvalidArgument):
        parse_signal("NOPE")


def test_state_table() -> None:
    assert allowed("start", Status.EXITED)
    assert not allowed("start", Status.RUNNING)
    assert not allowed("exec", Status.EXITED)


def test_tail_count() -> None:
    assert tail_count("all") is None and tail_count("-1") is None and tail_count("x") is None
    assert tail_count("0") == 0 and tail_count("5") == 5


def test_read_log_filters(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "log")
    with open(path, "wb") as f:
        f.write(b"2026-01-01T00:00:00.000000001+00:00 stdout F one\n")
        f.write(b"2026-01-01T00:00:01.000000001+00:00 stderr F two\n")

    async def collect(**kw: object) -> list[bytes]:
        it = read_log(path, follow=False, since=0, until=0, tail="all", running=lambda: False, **kw)  # type: ignore[arg-type]
        return [c.data async for c in it]

    assert asyncio.run(collect(streams={STDOUT}, timestamps=False)) == [b"one\n"]
    out = asyncio.run(collect(streams={STDOUT, STDERR}, timestamps=True))
    assert out == [b"2026-01-01T00:00:00.000000001Z one\n", b"2026-01-01T00:00:01.000000001Z two\n"]


def test_etc_files() -> None:
    h = hosts_text("box", ["db:10.0.0.2"], host_network=False)
    assert "127.0.0.1\tlocalhost" in h and "10.0.0.2\tdb" in h
    host = "nameserver 127.0.0.53\nsearch lan\n"
    r = resolv_text(host, [], [], [], host_network=False)
    assert "127.0.0.53" not in r and "nameserver 8.8.8.8" in r
    r = resolv_text(host, ["10.1.1.1"], ["corp"], ["ndots:2"], host_network=False)
    assert r == "search corp\nnameserver 10.1.1.1\noptions ndots:2\n"  # dockerd's order
    assert resolv_text(host, [], [], [], host_network=True) == host


def test_units() -> None:
    assert human_duration(0.2) == "Less than a second"
    assert human_duration(61) == "About a minute"
    assert human_duration(3 * 3600) == "3 hours"
    assert human_size(4_260_000) == "4.26MB"
