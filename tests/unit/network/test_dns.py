import os

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
