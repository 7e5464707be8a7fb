"""The etcd v3 JSON-gateway client against a small in-process fake of the gateway."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cove.errors import Unavailable
from cove.network.cluster.etcd import Etcd


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class Fake(BaseHTTPRequestHandler):
    kv: dict[str, str] = {}

    def log_message(self, *a: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kv = Fake.kv
        if self.path == "/v3/watch":
            self.send_response(200)
            self.end_headers()
            ev = {"type": "PUT", "kv": {"key": b64("/cove/a"), "value": b64("1")}}
            self.wfile.write(json.dumps({"result": {"created": True}}).encode() + b"\n")
            self.wfile.write(json.dumps({"result": {"events": [ev]}}).encode() + b"\n")
            self.wfile.flush()
            return
        out: dict[str, object] = {"header": {"revision": "7"}}
        if self.path == "/v3/kv/put":
            kv[body["key"]] = body["value"]
        elif self.path == "/v3/kv/range":
            start, end = body["key"], body.get("range_end")
            keys = [k for k in kv if (k == start if end is None else start <= k < end)]
            out["kvs"] = [{"key": k, "value": kv[k]} for k in sorted(keys)]
        elif self.path == "/v3/kv/txn":
            key = body["compare"][0]["key"]
            out["succeeded"] = key not in kv
            if key not in kv:
                kv[key] = body["success"][0]["request_put"]["value"]
        elif self.path == "/v3/lease/grant":
            out["ID"] = "42"
        else:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error":"nope"}')
            return
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def etcd() -> Iterator[Etcd]:
    Fake.kv = {}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield Etcd(f"etcd://127.0.0.1:{srv.server_address[1]}")
    finally:
        srv.shutdown()
        srv.server_close()


def test_put_get_create(etcd: Etcd) -> None:
    etcd.put("/cove/x", "1")
    assert etcd.get("/cove/x") == "1"
    assert etcd.get("/cove/y") is None
    assert etcd.create("/cove/y", "2") is True
    assert etcd.create("/cove/y", "3") is False
    kvs, rev = etcd.get_prefix("/cove/")
    assert kvs == {"/cove/x": "1", "/cove/y": "2"} and rev == 7
    assert etcd.grant(5) == 42


def test_errors_are_unavailable(etcd: Etcd) -> None:
    with pytest.raises(Unavailable, match="nope"):
        etcd.call("/v3/other", {})
    with pytest.raises(Unavailable, match="unreachable"):
        Etcd("etcd://127.0.0.1:1").put("/k", "v")


def test_watch_yields_events(etcd: Etcd) -> None:
    w = etcd.watch("/cove/", 8)
    it = iter(w)
    batch = next(it)
    assert [(e.kind, e.key, e.value) for e in batch] == [("PUT", "/cove/a", "1")]
    w.close()
