"""The settings table (DaemonConfig): docs, flags, daemon.json checks and where each goes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cove.daemon.config import DaemonConfig, load
from cove.daemon.main import _parser, flag_settings
from cove.daemon.settings import ENGINE, NET, by_key, copied, entries
from cove.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[3]


def _doc_rows() -> list[tuple[set[str], set[str]]]:
    """(keys, flags) of each row of docs/daemon-config.md's settings table."""
    rows = []
    for line in (ROOT / "docs" / "daemon-config.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = line.split(" | ")
        rows.append(
            (set(re.findall(r"`([^`]+)`", cells[0])), set(re.findall(r"`(-[^`]+)`", cells[1])))
        )
    return rows


def test_docs_list_exactly_the_table() -> None:
    table = by_key(DaemonConfig)
    documented = set().union(*(keys for keys, _ in _doc_rows()))
    assert documented == set(table), "docs/daemon-config.md and DaemonConfig differ"
    for keys, flags in _doc_rows():
        declared = {f for k in keys for f in table[k].setting.flags}
        assert flags == declared, f"flags of {sorted(keys)} in the docs"


def test_every_setting_goes_somewhere() -> None:
    """A setting is copied into the engine's options by name, or read by the daemon module it
    names: none is accepted and then dropped."""
    from cove.engine.context import EngineOptions
    from cove.network.base import NetOptions

    targets = {ENGINE: EngineOptions, NET: NetOptions}
    cfg = DaemonConfig()
    for e in entries(DaemonConfig):
        if e.setting.to in targets:
            names = {f.name for f in dataclasses.fields(targets[e.setting.to])}
            assert e.attr in names, f"{e.key}: no field {e.attr} in {e.setting.to}"
        else:
            src = (ROOT / "src/cove/daemon" / f"{e.setting.to}.py").read_text()
            assert f"cfg.{e.attr}" in src, f"{e.key}: not read in daemon/{e.setting.to}.py"
    assert set(copied(cfg, NET)) <= {f.name for f in dataclasses.fields(NetOptions)}
    assert copied(cfg, ENGINE)["dns"] is not cfg.dns  # copies, not the config's own lists


def _load(tmp_path: Path, obj: object, flags: dict[str, Any] | None = None) -> DaemonConfig:
    p = tmp_path / "daemon.json"
    p.write_text(json.dumps(obj))
    return load(str(p), flags or {})


# what dockerd 20.10 says for these files (after "unable to configure the Docker daemon with
# file <path>: "), checked against dockerd itself; most are Go's json words:
def _go(what: str, key: str, go: str) -> str:
    return f"json: cannot unmarshal {what} into Go struct field Config.{key} of type {go}"


DOCKERD_SAYS = [
    ({"bogus": 1, "zzz": 2},
     "the following directives don't match any configuration option: bogus, zzz"),
    ({"max-concurrent-downloads": -1},
     "configuration validation from file failed: invalid max concurrent downloads: -1"),
    ([1], "json: cannot unmarshal array into Go value of type map[string]interface {}"),
    ({"dns": ["10.0.0.2", "notanip"]},
     "configuration validation from file failed: notanip is not an ip address"),
    ({"debug": "yes"}, _go("string", "debug", "bool")),
    ({"tls": "x"}, _go("string", "tls", "bool")),
    ({"max-concurrent-downloads": "x"}, _go("string", "max-concurrent-downloads", "int")),
    ({"max-concurrent-downloads": 3.5}, _go("number 3.5", "max-concurrent-downloads", "int")),
    ({"dns": "1.1.1.1"}, _go("string", "dns", "[]string")),
    ({"dns": [1]}, _go("number", "dns", "string")),
    ({"log-opts": {"max-size": 5}}, _go("number", "log-opts", "string")),
    ({"runtimes": []}, _go("array", "runtimes", "map[string]types.Runtime")),
    ({"runtimes": {"x": 1}}, _go("number", "runtimes", "types.Runtime")),
    ({"default-address-pools": {}},
     _go("object", "default-address-pools", "[]*ipamutils.NetworkToSplit")),
    ({"default-address-pools": [{"base": 1}]}, _go("number", "default-address-pools", "string")),
    ({"cluster-store-opts": []}, _go("array", "cluster-store-opts", "map[string]string")),
    ({"bip": 5}, _go("number", "bip", "string")),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "words"), DOCKERD_SAYS)
def test_bad_files_get_dockerds_words(tmp_path: Path, obj: object, words: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        _load(tmp_path, obj)
    assert (
        str(err.value)
        == f"unable to configure the cove daemon with file {tmp_path}/daemon.json: {words}"
    )


def test_file_values_and_nulls(tmp_path: Path) -> None:
    cfg = _load(tmp_path, {
        "graph": "/g", "debug": None, "log-opts": {"max-size": "1m"}, "tls": False,
        "default-address-pools": [{"base": "10.9.0.0/16", "size": 24}],
        "runtimes": {"r": {"path": "/bin/r"}}, "max-concurrent-uploads": 0,
    })  # fmt: skip
    assert cfg.data_root == "/g" and cfg.debug is False and cfg.tls is False
    assert cfg.log_opts == {"max-size": "1m"} and cfg.runtimes == {"r": {"path": "/bin/r"}}
    assert cfg.default_address_pools == [{"base": "10.9.0.0/16", "size": 24}]
    assert cfg.max_concurrent_uploads == 0 and cfg.tlsverify is None
    # defaults are fresh for every config
    a, b = DaemonConfig(), DaemonConfig()
    a.hosts.append("x")
    assert b.hosts == ["unix:///run/cove.sock"]


def test_flags_merge_with_the_file(tmp_path: Path) -> None:
    args = _parser().parse_args([
        "-D", "--iptables=false", "-H", "unix:///tmp/a.sock", "-H", "tcp://127.0.0.1:2376",
        "--log-opt", "max-size=1m", "--log-opt", "max-file=2", "--dns-opt", "ndots:2",
        "--max-concurrent-downloads", "7", "--graph", "/d", "--config-file", "/x",
    ])  # fmt: skip
    flags = flag_settings(args)
    assert flags == {
        "debug": True, "iptables": False, "hosts": ["unix:///tmp/a.sock", "tcp://127.0.0.1:2376"],
        "log-opts": {"max-size": "1m", "max-file": "2"}, "dns-opts": ["ndots:2"],
        "max-concurrent-downloads": 7, "data-root": "/d",
    }  # fmt: skip
    cfg = _load(tmp_path, {"dns": ["10.0.0.2"], "ipv6": True}, flags)
    assert cfg.debug and not cfg.iptables and cfg.ipv6 and cfg.dns == ["10.0.0.2"]
    assert cfg.log_opts == {"max-size": "1m", "max-file": "2"} and cfg.data_root == "/d"
    assert flag_settings(_parser().parse_args(["--debug=false", "--tls"])) == {
        "debug": False, "tls": True
    }  # fmt: skip


def test_a_setting_given_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        _load(tmp_path, {"graph": "/x", "icc": True}, {"data-root": "/y", "icc": False})
    assert str(err.value).endswith(
        "the following directives are specified both as a flag and in the configuration file: "
        "data-root: (from flag: /y, from file: /x), icc: (from flag: false, from file: true)"
    )
    with pytest.raises(InvalidArgument, match=r"debug: \(from flag: true, from file: <nil>\)$"):
        _load(tmp_path, {"debug": None}, {"debug": True})  # as dockerd: a null key is given
    with pytest.raises(InvalidArgument, match=r"^invalid max concurrent uploads: -2$"):
        load(os.devnull, {"max-concurrent-uploads": -2})


def test_bad_flags_are_usage_errors() -> None:
    for argv in (["--icc=maybe"], ["--log-opt", "novalue"], ["--max-concurrent-uploads", "x"],
                 ["-l", "loud"]):  # fmt: skip
        with pytest.raises(SystemExit):
            _parser().parse_args(argv)


def test_coved_flags_stay_lean() -> None:
    """coved's startup imports no engine, API or driver code before it needs them."""
    code = (
        "import sys, cove.daemon.main as m; m._parser(); "
        "print(sorted(n for n in sys.modules"
        " if n.startswith(('cove.engine', 'cove.api', 'cove.network'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_what_cove_cannot_honour_is_refused() -> None:
    from cove.daemon.wiring import _refuse_unused

    _refuse_unused(load(os.devnull, {"userland-proxy": False, "live-restore": True}))
    for flags, words in (
        ({"userland-proxy": True}, "userland-proxy cannot be turned on"),
        ({"live-restore": False}, "live-restore cannot be turned off"),
        ({"storage-opts": ["size=1G"]}, "storage-opts size=1G"),
    ):
        with pytest.raises(InvalidArgument, match=words):
            _refuse_unused(load(os.devnull, flags))


def test_values_cove_cannot_use_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"^failed to start daemon: invalid mirror: "):
        _load(tmp_path, {"registry-mirrors": ["not a url"]})
    with pytest.raises(InvalidArgument, match=r"^failed to start daemon: invalid mirror: path"):
        load(os.devnull, {"registry-mirrors": ["http://127.0.0.1:5000/v2/"]})
    with pytest.raises(InvalidArgument, match=r"^notanip is not an ip address$"):
        load(os.devnull, {"dns": ["notanip"]})
    for opts, words in (
        ({"kv.cacertfile": "/ca.pem"}, "kv.cacertfile is not supported"),
        ({"discovery.ttl": "abc"}, "'abc' is not a number of seconds"),
    ):
        with pytest.raises(InvalidArgument, match=words):
            _load(tmp_path, {"cluster-store-opts": opts})
    with pytest.raises(InvalidArgument, match="runtimes: r: runtimeArgs are not supported"):
        _load(tmp_path, {"runtimes": {"r": {"path": "/bin/r", "runtimeArgs": ["--debug"]}}})
    cfg = _load(tmp_path, {"registry-mirrors": ["http://127.0.0.1:5000"], "dns": ["fd00::53"],
                           "cluster-store-opts": {"discovery.ttl": "5"}})  # fmt: skip
    assert cfg.registry_mirrors == ["http://127.0.0.1:5000"] and cfg.dns == ["fd00::53"]
