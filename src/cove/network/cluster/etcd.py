"""Edge module: a small etcd v3 client over the JSON gRPC gateway (``/v3/...``).

etcd 3.4 serves every v3 call as ``POST`` of a JSON body with base64 keys and values, so
plain HTTP/1.1 from the standard library is enough: no gRPC stack, no new dependency.
Calls are synchronous (run them off the event loop); ``watch`` blocks reading the
gateway's stream of JSON objects, one per line, and is meant for a dedicated thread.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cove.errors import Unavailable
from cove.util.jsontypes import Json

# http.client (with the email package under it, some 2 MB) is imported by the first call to
# the store: coved without a cluster store never loads it (issue 16's idle memory).
if TYPE_CHECKING:
    import http.client


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str) -> str:
    return base64.b64decode(s).decode()


def prefix_end(prefix: str) -> str:
    """The ``range_end`` that makes a range cover every key starting with ``prefix``."""
    b = bytearray(prefix.encode())
    b[-1] += 1
    return bytes(b).decode()


@dataclass(frozen=True)
class Event:
    kind: str  # "PUT" or "DELETE"
    key: str
    value: str


def parse_url(url: str) -> tuple[str, int]:
    """``etcd://host:port`` (or http://) -> (host, port)."""
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.rpartition(":")
    if not host:
        host, port = rest, "2379"
    try:
        return host, int(port)
    except ValueError:
        raise Unavailable(f"invalid cluster-store address {url!r}") from None


class Etcd:
    def __init__(self, url: str, timeout: float = 3.0) -> None:
        self.url = url
        self.host, self.port = parse_url(url)
        self.timeout = timeout

    # --- plumbing -------------------------------------------------------------------------
    def _conn(self, timeout: float | None) -> http.client.HTTPConnection:
        import http.client

        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def call(self, path: str, body: Json) -> Json:
        import http.client

        conn = self._conn(self.timeout)
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise Unavailable(f"cluster store {self.url} is unreachable: {e}") from None
        finally:
            conn.close()
        try:
            out: Json = json.loads(data or b"{}")
        except ValueError:
            raise Unavailable(f"cluster store {self.url}: bad reply") from None
        if resp.status != 200 or "error" in out:
            msg = out.get("error") or out.get("message") or resp.reason
            raise Unavailable(f"cluster store {self.url}: {msg}")
        return out

    # --- kv -------------------------------------------------------------------------------
    def put(self, key: str, value: str, lease: int = 0) -> None:
        body: Json = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        self.call("/v3/kv/put", body)

    def create(self, key: str, value: str, lease: int = 0) -> bool:
        """Put ``key`` only if it does not exist yet (a transaction); True when created."""
        put: Json = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        out = self.call(
            "/v3/kv/txn",
            {
                "compare": [
                    {
                        "key": _b64(key),
                        "target": "CREATE",
                        "result": "EQUAL",
                        "create_revision": "0",
                    }
                ],
                "success": [{"request_put": put}],
            },
        )
        return bool(out.get("succeeded"))

    def create_all(self, kvs: dict[str, str]) -> bool:
        """Put every key of ``kvs`` only if none of them exists yet, in one transaction:
        all or nothing, so a claim (a name, a subnet) never outlives a failed create."""
        compare = [
            {"key": _b64(k), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
            for k in kvs
        ]
        success = [{"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in kvs.items()]
        out = self.call("/v3/kv/txn", {"compare": compare, "success": success})
        return bool(out.get("succeeded"))

    def delete_if(self, key: str, value: str) -> bool:
        """Delete ``key`` only while it still holds ``value`` (a claim found stale)."""
        out = self.call(
            "/v3/kv/txn",
            {
                "compare": [
                    {"key": _b64(key), "target": "VALUE", "result": "EQUAL", "value": _b64(value)}
                ],
                "success": [{"request_delete_range": {"key": _b64(key)}}],
            },
        )
        return bool(out.get("succeeded"))

    def delete_all(self, keys: list[str], prefixes: list[str]) -> None:
        """Delete the keys and every key under the prefixes in one transaction."""
        ops: list[Json] = [{"request_delete_range": {"key": _b64(k)}} for k in keys]
        ops += [
            {"request_delete_range": {"key": _b64(p), "range_end": _b64(prefix_end(p))}}
            for p in prefixes
        ]
        self.call("/v3/kv/txn", {"compare": [], "success": ops})

    def get_prefix(self, prefix: str) -> tuple[dict[str, str], int]:
        """Every key under ``prefix`` and the store revision they were read at."""
        out = self.call(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}
        )
        kvs = {_unb64(kv["key"]): _unb64(kv.get("value", "")) for kv in out.get("kvs") or []}
        return kvs, int(out["header"]["revision"])

    def get(self, key: str) -> str | None:
        out = self.call("/v3/kv/range", {"key": _b64(key)})
        kvs = out.get("kvs") or []
        return _unb64(kvs[0].get("value", "")) if kvs else None

    def delete(self, key: str, prefix: bool = False) -> None:
        body: Json = {"key": _b64(key)}
        if prefix:
            body["range_end"] = _b64(prefix_end(key))
        self.call("/v3/kv/deleterange", body)

    # --- leases ---------------------------------------------------------------------------
    def grant(self, ttl: int) -> int:
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl)})["ID"])

    def keepalive(self, lease: int) -> int:
        """Refresh ``lease``; its remaining TTL (0: it had already expired)."""
        out = self.call("/v3/lease/keepalive", {"ID": str(lease)})
        return int((out.get("result") or {}).get("TTL") or 0)

    def revoke(self, lease: int) -> None:
        self.call("/v3/lease/revoke", {"ID": str(lease)})

    # --- watch ----------------------------------------------------------------------------
    def watch(self, prefix: str, start_revision: int) -> Watch:
        return Watch(self, prefix, start_revision)


class Watch:
    """Batches of changes under a prefix from a revision on; iterate in a dedicated thread,
    ``close()`` from any thread to end it.  A broken connection raises ``Unavailable``."""

    def __init__(self, etcd: Etcd, prefix: str, start_revision: int) -> None:
        self.etcd = etcd
        self.prefix = prefix
        self.start = start_revision
        self.closed = False
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        self.closed = True
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def __iter__(self) -> Iterator[list[Event]]:
        import http.client

        url = self.etcd.url
        conn = self._conn = self.etcd._conn(None)
        body = {
            "create_request": {
                "key": _b64(self.prefix),
                "range_end": _b64(prefix_end(self.prefix)),
                "start_revision": str(self.start),
            }
        }
        try:
            conn.request("POST", "/v3/watch", json.dumps(body))
            resp = conn.getresponse()
            if resp.status != 200:
                raise Unavailable(f"cluster store {url}: watch refused ({resp.status})")
            while not self.closed:
                line = resp.readline()
                if not line or self.closed:
                    if self.closed:
                        return
                    raise Unavailable(f"cluster store {url}: watch closed")
                msg = json.loads(line).get("result") or {}
                if msg.get("canceled") or msg.get("compact_revision"):
                    raise Unavailable(f"cluster store {url}: watch cancelled")
                evs = [
                    Event(
                        e.get("type", "PUT"),
                        _unb64(e["kv"]["key"]),
                        _unb64(e["kv"].get("value", "")),
                    )
                    for e in msg.get("events") or []
                ]
                if evs:
                    yield evs
        except (OSError, http.client.HTTPException, ValueError) as e:
            if self.closed:
                return
            raise Unavailable(f"cluster store {url}: watch failed: {e}") from None
        finally:
            conn.close()
