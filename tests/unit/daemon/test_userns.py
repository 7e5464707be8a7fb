"""userns-remap: id maps, /etc/subuid parsing, and what a remapped container's config gets."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from cove.archive.extract import extract_layer
from cove.daemon.userns import next_free_start, read_ranges
from cove.engine.containers import userns
from cove.errors import InvalidArgument
from cove.util.idmap import OVERFLOW_ID, UnmappableId, from_subid


def test_map_counts_up_across_ranges() -> None:
    m = from_subid([(100000, 10), (300000, 5)], [(200000, 15)])
    assert m.root == (100000, 200000)
    assert m.to_host(12, 3) == (300002, 200003)
    assert m.to_container(300004, 200014) == (14, 14)
    assert m.to_container(0, 99) == (OVERFLOW_ID, OVERFLOW_ID)
    with pytest.raises(UnmappableId):
        m.to_host(15, 0)
    uids, gids = m.oci()
    assert uids[1] == {"containerID": 10, "hostID": 300000, "size": 5}
    assert gids == [{"containerID": 0, "hostID": 200000, "size": 15}]


def test_subid_files(tmp_path: object) -> None:
    p = os.path.join(str(tmp_path), "subuid")
    with open(p, "w") as f:
        f.write("alice:100000:65536\n1001:165536:10\nbob:200000:65536\nbroken\nalice:9:0\n")
    assert read_ranges(p, "alice", 1001) == [(100000, 65536), (165536, 10)]
    assert read_ranges(p, "carol", None) == []
    assert next_free_start((p,)) == 265536
    assert next_free_start((os.path.join(str(tmp_path), "none"),)) == 100000


def test_container_config() -> None:
    m = from_subid([(100000, 65536)], [(100000, 65536)])
    hc = {"UsernsMode": ""}
    assert userns.for_container(hc, m) is m
    assert userns.for_container({"UsernsMode": "host"}, m) is None
    assert userns.for_container(hc, None) is None
    config = {"linux": {"namespaces": [{"type": "pid"}],
                        "sysctl": {"net.ipv4.ping_group_range": "0 2147483647"}}}  # fmt: skip
    userns.apply(config, m, {})
    assert config["linux"]["namespaces"] == [{"type": "pid"}, {"type": "user"}]
    assert config["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert "sysctl" not in config["linux"]  # the netns is not the userns's: root cannot write


def test_refusals() -> None:
    m = from_subid([(100000, 65536)], [(100000, 65536)])
    for hc, words in (
        ({"Privileged": True}, "privileged mode is incompatible"),
        ({"PidMode": "host"}, "host PID namespace"),
        ({"NetworkMode": "host"}, "host's network namespace"),
        ({"UsernsMode": "private"}, "invalid USER mode"),
    ):
        with pytest.raises(InvalidArgument, match=words):
            userns.check(hc, m)
    userns.check({"Privileged": True, "UsernsMode": "host"}, m)
    userns.check({"Privileged": True}, None)


def _tar(*members: tuple[str, int]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, uid in members:
            info = tarfile.TarInfo(name)
            info.uid = info.gid = uid
            tf.addfile(info, io.BytesIO(b""))
    buf.seek(0)
    return buf


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_extract_shifts_owners(tmp_path: object) -> None:
    m = from_subid([(100000, 65536)], [(100000, 65536)])
    target = str(tmp_path)
    extract_layer(_tar(("a/b", 1000)), target, "delete", m.to_host)
    assert os.stat(os.path.join(target, "a")).st_uid == 100000  # made for a/b: root's
    assert os.stat(os.path.join(target, "a", "b")).st_uid == 101000
    with pytest.raises(InvalidArgument, match="cannot be mapped"):
        extract_layer(_tar(("c", 70000)), target, "delete", m.to_host)
