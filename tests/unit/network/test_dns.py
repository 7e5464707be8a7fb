import os
import struct

from cove.network import dnswire
from cove.network.dns import Records, write_records


def test_query_roundtrip() -> None:
    q = dnswire.build_query(0x1234, "Api.")
    parsed = dnswire.parse_query(q)
    assert parsed is not None and parsed.name == "api" and parsed.qtype == dnswire.TYPE_A
    resp = dnswire.answer(q, parsed, ["10.0.0.5", "10.0.0.6"])
    assert resp[:2] == b"\x12\x34"
    assert dnswire.answers_of(resp) == (0, ["10.0.0.5", "10.0.0.6"])
    assert dnswire.answers_of(dnswire.error(q, parsed, dnswire.NXDOMAIN)) == (3, [])


def test_aaaa_for_known_name_is_empty_noerror() -> None:
    q = dnswire.build_query(1, "api", dnswire.TYPE_AAAA)
    parsed = dnswire.parse_query(q)
    assert parsed is not None
    assert dnswire.answers_of(dnswire.answer(q, parsed, ["10.0.0.5"])) == (0, [])


def test_garbage_is_ignored() -> None:
    assert dnswire.parse_query(b"\x00" * 5) is None
    assert dnswire.parse_query(b"\x00\x01\x80\x00" + b"\x00" * 8) is None  # a response


def test_records_reload_on_change(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(str(tmp_path), "net.hosts")
    write_records(path, [("10.0.0.2", ["web", "abc123", "www"])])
    r = Records()
    assert r.lookup(path, "www") == ["10.0.0.2"]
    write_records(path, [("10.0.0.3", ["web"])])
    os.utime(path, ns=(1, 1))  # a different mtime even within one clock tick
    assert r.lookup(path, "web") == ["10.0.0.3"]
    assert r.lookup(path, "www") == []


def test_answer_over_the_limit_is_cut_and_marked_truncated() -> None:
    q = dnswire.build_query(2, "crowd")
    parsed = dnswire.parse_query(q)
    assert parsed is not None
    ips = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(100)]
    cut = dnswire.answer(q, parsed, ips, limit=dnswire.UDP_LIMIT)
    assert len(cut) <= 512 and cut[2] & 0x02
    n = len(dnswire.answers_of(cut)[1])
    assert n == (512 - len(q)) // 16  # each A record takes 16 bytes
    whole = dnswire.answer(q, parsed, ips)
    assert not whole[2] & 0x02 and dnswire.answers_of(whole)[1] == ips


def test_udp_limit_reads_the_edns_payload_size() -> None:
    q = dnswire.build_query(3, "api")
    parsed = dnswire.parse_query(q)
    assert parsed is not None
    assert dnswire.udp_limit(q, parsed) == 512
    opt = b"\x00" + struct.pack("!HHIH", dnswire.TYPE_OPT, 1232, 0, 0)
    edns = q[:10] + b"\x00\x01" + q[12:] + opt
    assert dnswire.udp_limit(edns, parsed) == 1232
    tiny = q[:10] + b"\x00\x01" + q[12:] + b"\x00" + struct.pack("!HHIH", 41, 100, 0, 0)
    assert dnswire.udp_limit(tiny, parsed) == 512  # never below 512
