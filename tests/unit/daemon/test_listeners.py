"""Where coved listens: -H values, TLS settings, the socket's group."""

from __future__ import annotations

import grp

import pytest

from cove.daemon.config import DaemonConfig, load
from cove.daemon.listeners import parse_host, plan, socket_gid
from cove.errors import InvalidArgument


def test_parse_host() -> None:
    assert parse_host("unix:///tmp/a.sock").address == "/tmp/a.sock"
    assert parse_host("/tmp/b.sock").kind == "unix"
    assert parse_host("unix://").address == "/run/cove.sock"
    assert parse_host("tcp://127.0.0.1:2376").address == "127.0.0.1:2376"
    assert parse_host("tcp://0.0.0.0").address == "0.0.0.0:2375"
    assert parse_host("tcp://:2376").address == "127.0.0.1:2376"
    assert parse_host("10.0.0.1:2376").kind == "tcp"
    assert parse_host("tcp://[::1]:2376").address == "[::1]:2376"
    for bad in ("tcp://1.2.3.4:x", "tcp://h:99999", "ssh://h", "fd://", "tcp://h:1/p", "unix://x"):
        with pytest.raises(InvalidArgument):
            parse_host(bad)


def test_plain_tcp_needs_an_explicit_no() -> None:
    cfg = DaemonConfig(hosts=["tcp://127.0.0.1:2375"])
    with pytest.raises(InvalidArgument, match="without TLS"):
        plan(cfg)
    cfg.tls = False
    p = plan(cfg)
    assert p.tls is None and [x.address for x in p.tcp] == ["127.0.0.1:2375"]
    assert any("without --tlsverify is insecure" in w for w in p.warnings)


def test_tls_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs")
    cfg = DaemonConfig(hosts=["tcp://127.0.0.1:2376"], tlsverify=True, tlscert="/x/c.pem")
    p = plan(cfg)
    assert p.tls is not None and p.tls.verify and not p.warnings
    assert (p.tls.ca, p.tls.cert, p.tls.key) == ("/certs/ca.pem", "/x/c.pem", "/certs/key.pem")
    # --tls alone encrypts without asking for client certificates (and still warns)
    p = plan(DaemonConfig(hosts=["tcp://127.0.0.1:2376"], tls=True))
    assert p.tls is not None and not p.tls.verify and p.warnings
    # any --tlsverify turns TLS on, as in dockerd
    p = plan(DaemonConfig(hosts=["tcp://127.0.0.1:2376"], tlsverify=False))
    assert p.tls is not None and not p.tls.verify


def test_group() -> None:
    root = grp.getgrgid(0).gr_name
    assert socket_gid(root) == (0, None)
    assert socket_gid("4242") == (4242, None)
    assert socket_gid("") == (-1, None)
    try:
        grp.getgrnam("cove")
    except KeyError:
        gid, warning = socket_gid("cove")  # the default group, missing: root's, with a word
        assert gid == -1 and warning and "group cove not found" in warning
    with pytest.raises(InvalidArgument, match="group no-such-group-x not found"):
        socket_gid("no-such-group-x")


def test_daemon_json_keys(tmp_path: object) -> None:
    import json
    import os

    path = os.path.join(str(tmp_path), "daemon.json")
    with open(path, "w") as f:
        json.dump({"tlsverify": True, "tlscacert": "/c/ca.pem", "group": "adm",
                   "hosts": ["tcp://127.0.0.1:2376"]}, f)  # fmt: skip
    cfg = load(path, {})
    assert cfg.tlsverify is True and cfg.tlscacert == "/c/ca.pem" and cfg.group == "adm"
    with open(path, "w") as f:
        json.dump({"tls": "yes"}, f)
    with pytest.raises(InvalidArgument, match=r"Config\.tls of type bool"):
        load(path, {})
