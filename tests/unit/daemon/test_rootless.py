"""Rootless mode's pure parts: paths, the id map from /etc/subuid, the runtime's config
changes and published ports through a host forwarder."""

from __future__ import annotations

import os

import pytest

from cove.daemon import rootless
from cove.errors import Conflict, CoveError, InvalidArgument
from cove.network import portdriver
from cove.network.portmap import PortReservations
from cove.network.ports import Mapping
from cove.network.usermode import SlirpForwarder
from cove.runtime.rootless import adjust, discard_limits
from cove.util.idmap import IdRange
from cove.util.rootless_paths import private_runtime_dir, rootless_paths


def test_paths_follow_xdg() -> None:
    p = rootless_paths({"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/7"}, 7)
    assert p.data_root == "/home/u/.local/share/cove"
    assert p.config_file == "/home/u/.config/cove/daemon.json"
    assert p.socket == "/run/user/7/cove.sock"
    assert p.exec_root == "/run/user/7/cove"
    assert p.host == "unix:///run/user/7/cove.sock"


def test_paths_without_runtime_dir_use_private_tmp() -> None:
    p = rootless_paths({"HOME": "/h", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"}, 42)
    assert p.runtime_dir == "/tmp/cove-42"
    assert p.data_root == "/d/cove"
    assert p.config_file == "/c/cove/daemon.json"


def test_private_runtime_dir_refuses_a_symlink(tmp_path: str) -> None:
    target = os.path.join(str(tmp_path), "elsewhere")
    os.mkdir(target)
    link = os.path.join(str(tmp_path), "link")
    os.symlink(target, link)
    with pytest.raises(PermissionError):
        private_runtime_dir(link)
    made = private_runtime_dir(os.path.join(str(tmp_path), "mine"))
    assert os.stat(made).st_mode & 0o777 == 0o700


def _subid_files(tmp_path: str, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    for name in ("SUBUID", "SUBGID"):
        path = os.path.join(str(tmp_path), name)
        with open(path, "w") as f:
            f.write(text)
        monkeypatch.setattr(rootless, name, path)


def test_map_is_the_user_then_the_ranges(tmp_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _subid_files(tmp_path, monkeypatch, "other:100000:65536\nalice:300000:1000\nalice:500000:10\n")
    m = rootless.subordinate_map("alice", 1001, 1002)
    assert m.uids == (IdRange(0, 1001, 1), IdRange(1, 300000, 1000), IdRange(1001, 500000, 10))
    assert m.gids[0] == IdRange(0, 1002, 1)
    assert m.to_host(1, 1) == (300000, 300000)


def test_no_ranges_names_the_fix(tmp_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _subid_files(tmp_path, monkeypatch, "other:100000:65536\n")
    with pytest.raises(CoveError, match=r"usermod --add-subuids .* bob"):
        rootless.subordinate_map("bob", 1003, 1003)


def test_runtime_config_drops_cgroups_and_narrows_ping_groups() -> None:
    cfg = {
        "linux": {
            "cgroupsPath": "/cove/x",
            "sysctl": {
                "net.ipv4.ping_group_range": "0 2147483647",
                "net.ipv4.ip_unprivileged_port_start": "0",
            },
        }
    }
    out = adjust(cfg)
    assert "cgroupsPath" not in out["linux"]
    lo, hi = out["linux"]["sysctl"]["net.ipv4.ping_group_range"].split()
    assert lo == "0" and int(hi) >= 0
    assert out["linux"]["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "0"


class FakeForwarder:
    def __init__(self, fail_port: int = -1) -> None:
        self.added: dict[int, Mapping] = {}
        self.fail_port = fail_port

    def add(self, m: Mapping, endpoint: str) -> int:
        if m.host_port == self.fail_port:
            raise Conflict("port is already allocated")
        ident = len(self.added) + 1
        self.added[ident] = m
        return ident

    def remove(self, ident: int) -> None:
        del self.added[ident]


def test_forwarded_ports_match_any_address_inside() -> None:
    fwd = FakeForwarder()
    res = PortReservations(fwd)
    got = res.reserve("c1", [Mapping("tcp", 80, "127.0.0.1", 0)], "web")
    assert got[0].host_ip == "127.0.0.1" and got[0].host_port > 0
    assert res.rule_ip(got[0]) == ""  # traffic arrives on the user-mode network's address
    assert list(fwd.added.values()) == got
    res.release("c1")
    assert fwd.added == {}
    assert PortReservations().rule_ip(got[0]) == "127.0.0.1"


def test_a_failed_forward_undoes_the_others() -> None:
    fwd = FakeForwarder(fail_port=-2)
    res = PortReservations(fwd)
    first = res.reserve("probe", [Mapping("tcp", 80, "", 0)], "x")[0].host_port
    res.release("probe")
    fwd.fail_port = first + 1
    want = [Mapping("tcp", 80, "", first), Mapping("tcp", 81, "", first + 1)]
    with pytest.raises(Conflict):
        res.reserve("c2", want, "web")
    assert fwd.added == {}
    with pytest.raises(InvalidArgument, match="sctp"):
        res.reserve("c3", [Mapping("sctp", 80, "", 9999)], "web")


def test_low_ports_get_rootless_dockers_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(portdriver, "unprivileged_port_start", lambda: 1024)
    fwd = SlirpForwarder("/nonexistent/api.sock")
    with pytest.raises(InvalidArgument) as e:
        fwd.add(Mapping("tcp", 80, "", 80), "web")
    words = "cannot expose privileged port 80, you can add 'net.ipv4.ip_unprivileged_port_start=80'"
    assert words in str(e.value)


def test_limits_are_discarded_with_dockerds_warnings() -> None:
    hc = {"Memory": 64 << 20, "MemorySwap": 128 << 20, "PidsLimit": 10, "CpuShares": 0,
          "CpusetCpus": "0", "MemorySwappiness": -1, "OomKillDisable": False}  # fmt: skip
    warnings = discard_limits(hc)
    assert warnings == [
        "Your kernel does not support memory limit capabilities or the cgroup is not "
        "mounted. Limitation discarded.",
        "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
        "PIDs limit discarded.",
        "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.",
    ]
    assert hc["Memory"] == 0 and hc["MemorySwap"] == 0 and hc["PidsLimit"] is None
    assert hc["CpusetCpus"] == "" and hc["MemorySwappiness"] == -1
    assert discard_limits({"Memory": 0, "PidsLimit": -1}) == []
    with pytest.raises(InvalidArgument, match="NanoCPUs can not be set"):
        discard_limits({"NanoCpus": 10**9})


def test_privileged_keeps_only_reachable_devices() -> None:
    cfg = {"linux": {"devices": [{"path": "/dev/null"}, {"path": "/dev/stdin"},
                                 {"path": "/nonexistent"}]}}  # fmt: skip
    assert [d["path"] for d in adjust(cfg)["linux"]["devices"]] == ["/dev/null"]


def test_a_random_port_taken_on_the_host_tries_another() -> None:
    class TakenOnce(FakeForwarder):
        def __init__(self) -> None:
            super().__init__()
            self.refused: list[int] = []

        def add(self, m: Mapping, endpoint: str) -> int:
            if not self.refused:
                self.refused.append(m.host_port)
                raise Conflict("port is already allocated")
            return super().add(m, endpoint)

    fwd = TakenOnce()
    res = PortReservations(fwd)
    got = res.reserve("c1", [Mapping("tcp", 80, "", 0)], "web")
    assert got[0].host_port != fwd.refused[0]
    assert list(fwd.added.values()) == got
    res.release("c1")
    fixed = TakenOnce()
    with pytest.raises(Conflict):  # a port asked by number is never swapped for another
        PortReservations(fixed).reserve("c2", [Mapping("tcp", 80, "", got[0].host_port)], "w")


def test_no_holder_without_its_records(tmp_path: str) -> None:
    from cove.daemon import rootless_ns

    root = str(tmp_path)
    assert rootless_ns.live_holder(root) == 0
    rootless_ns.record(root, rootless_ns.HOLDER_FILE, os.getpid())
    rootless_ns.record(root, rootless_ns.NET_FILE, os.getpid())
    assert rootless_ns.live_holder(root) == 0  # our own namespace is no holder's
    rootless_ns.forget(root)
    assert not os.listdir(root)
