"""The few pieces of the DNS wire format the embedded server needs (RFC 1035, RFC 3596):
read the question of a query, build an answer of A or AAAA records or an error.  Pure."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A = 1
TYPE_AAAA = 28
TYPE_OPT = 41
CLASS_IN = 1
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3
UDP_LIMIT = 512  # a UDP answer's size without EDNS (RFC 1035 4.2.1)
TCP_LIMIT = 65535


@dataclass(frozen=True)
class Question:
    id: int
    flags: int
    name: str  # lower case, without the trailing dot
    qtype: int
    qclass: int
    end: int  # offset just past the question


def parse_query(data: bytes) -> Question | None:
    """The first question of a query, None for anything that is not a plain query."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if flags & 0x8000 or qd < 1 or (flags >> 11) & 0xF != 0:
        return None
    labels = []
    i = 12
    while True:
        if i >= len(data):
            return None
        n = data[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0 or i + 1 + n > len(data):
            return None
        labels.append(data[i + 1 : i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 4 > len(data):
        return None
    qtype, qclass = struct.unpack("!HH", data[i : i + 4])
    return Question(qid, flags, ".".join(labels).lower(), qtype, qclass, i + 4)


def udp_limit(query: bytes, q: Question) -> int:
    """How large a UDP answer may be: 512 bytes, or the payload size an EDNS OPT record
    right after the question offers (RFC 6891)."""
    arcount = struct.unpack("!H", query[10:12])[0]
    opt = query[q.end : q.end + 5]
    if arcount and len(opt) == 5 and opt[0] == 0:
        rtype, size = struct.unpack("!HH", opt[1:])
        if rtype == TYPE_OPT:
            return max(UDP_LIMIT, min(int(size), TCP_LIMIT))
    return UDP_LIMIT


def answer(
    query: bytes,
    q: Question,
    ips: list[str],
    rcode: int = NOERROR,
    ttl: int = 600,
    limit: int = TCP_LIMIT,
) -> bytes:
    """A response echoing the question, with a record per address of the asked type (A for
    IPv4, AAAA for IPv6); a name with addresses of the other family only gets an empty
    NOERROR answer, so the client does not look further.  Records that would take the
    message past ``limit`` are left out and the TC bit says so: the client asks again over
    TCP."""
    want = {TYPE_A: 4, TYPE_AAAA: 6}.get(q.qtype)
    records = [a for a in map(ipaddress.ip_address, ips) if a.version == want]
    flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode  # QR AA RD RA
    body = query[12 : q.end]
    count = 0
    for addr in records:
        raw = addr.packed
        rr = struct.pack("!HHHIH", 0xC00C, q.qtype, CLASS_IN, ttl, len(raw)) + raw
        if 12 + len(body) + len(rr) > limit:
            flags |= 0x0200  # TC
            break
        body += rr
        count += 1
    return struct.pack("!HHHHHH", q.id, flags, 1, count, 0, 0) + body


def error(query: bytes, q: Question, rcode: int) -> bytes:
    return answer(query, q, [], rcode)


def build_query(qid: int, name: str, qtype: int = TYPE_A) -> bytes:
    """A recursive query (tests and health checks use it)."""
    out = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\x00" + struct.pack("!HH", qtype, CLASS_IN)


def answers_of(resp: bytes) -> tuple[int, list[str]]:
    """(rcode, A and AAAA addresses) of a response: enough for tests."""
    rcode = resp[3] & 0xF
    an = struct.unpack("!H", resp[6:8])[0]
    q = parse_query(resp[:2] + b"\x01\x00" + resp[4:])
    if q is None:
        return rcode, []
    i, out = q.end, []
    for _ in range(an):
        while resp[i] != 0 and not resp[i] & 0xC0:
            i += 1 + resp[i]
        i += 2 if resp[i] & 0xC0 else 1
        rtype, _c, _t, rdlen = struct.unpack("!HHIH", resp[i : i + 10])
        i += 10
        if rtype == TYPE_A and rdlen == 4:
            out.append(str(ipaddress.IPv4Address(resp[i : i + 4])))
        elif rtype == TYPE_AAAA and rdlen == 16:
            out.append(str(ipaddress.IPv6Address(resp[i : i + 16])))
        i += rdlen
    return rcode, out
