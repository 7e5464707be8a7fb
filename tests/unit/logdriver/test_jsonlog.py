"""Docker's json-file lines from conmon's records, and back (what dockerd 20.10 wrote for
the same output, side by side, is the expected text)."""

from __future__ import annotations

import json

from cove.logdriver import cri
from cove.logdriver.jsonlog import (
    PIECE,
    Converter,
    convert,
    docker_stamp,
    escape,
    objects,
)

TS = b"2026-12-07T04:22:46.192818170+00:00"
BOTH = frozenset((cri.STDOUT, cri.STDERR))


def rec(stream: str, flag: str, data: bytes, ts: bytes = TS) -> bytes:
    return ts + b" " + stream.encode() + b" " + flag.encode() + b" " + data + b"\n"


def test_lines_as_dockerd_writes_them() -> None:
    block = (
        rec("stderr", "F", b"err")
        + rec("stdout", "F", b'a\tb<c>&d"e\\f\r')
        + rec("stdout", "F", b"\x01\x7f\xff\xe2\x80z \xe2\x80\xa8 \xc3\xa9")
        + rec("stdout", "P", b"noeol")
    )
    c = Converter()
    out = c.feed(block) + c.flush()
    t = b'"time":"2026-12-07T04:22:46.19281817Z"}'
    assert out.split(b"\n") == [
        b'{"log":"err\\n","stream":"stderr",' + t,
        b'{"log":"a\\u0009b\\u003cc\\u003e\\u0026d\\"e\\\\f\\r\\n","stream":"stdout",' + t,
        b'{"log":"\\u0001\x7f\\ufffd\\ufffd\\ufffdz \\u2028 \xc3\xa9\\n","stream":"stdout",' + t,
        b'{"log":"noeol","stream":"stdout",' + t,
        b"",
    ]
    for line in out.splitlines():
        assert set(json.loads(line)) == {"log", "stream", "time"}


def test_escape_matches_the_block_way() -> None:
    raw = b'q"\\<>&\t\r\x1b[0m \xe2\x80\xa9 \xf0\x9f\x98\x80'
    c = Converter()
    fast = c.feed(rec("stdout", "F", raw))
    assert fast == b'{"log":"' + escape(raw) + b'\\n","stream":"stdout","time":"' + (
        b'2026-12-07T04:22:46.19281817Z"}\n'
    )
    assert json.loads(fast)["log"] == raw.decode() + "\n"


def test_long_line_in_dockerd_pieces_with_the_first_time() -> None:
    line = b"x" * 40000
    block, pos = b"", 0
    for i, n in enumerate((8100, 8192, 8192, 8192, 7324)):
        ts = b"2026-12-07T04:22:46.00000000%d+00:00" % i
        block += rec("stdout", "P", line[pos : pos + n], ts)
        pos += n
    block += rec("stdout", "F", b"", b"2026-12-07T04:22:47.000000000+00:00")
    c = Converter()
    # fed in two blocks: the held start of the line goes across
    half = block.index(b"\n", len(block) // 2) + 1
    out = c.feed(block[:half]) + c.feed(block[half:])
    objs = [json.loads(x) for x in out.splitlines()]
    assert [len(o["log"]) for o in objs] == [PIECE, PIECE, 40000 - 2 * PIECE + 1]
    assert [o["log"].endswith("\n") for o in objs] == [False, False, True]
    assert {o["time"] for o in objs} == {"2026-12-07T04:22:46Z"}


def test_a_line_cut_by_a_read_is_one_line_again() -> None:
    block = (
        rec("stdout", "P", b"ab")
        + rec("stderr", "F", b"other")
        + rec("stdout", "F", b"cd")
        + rec("stdout", "F", b"ef")
    )
    objs = [json.loads(x) for x in Converter().feed(block).splitlines()]
    # the joined line is written when its end came, as dockerd's copier does
    assert [(o["stream"], o["log"]) for o in objs] == [
        ("stderr", "other\n"),
        ("stdout", "abcd\n"),
        ("stdout", "ef\n"),
    ]


def test_stamps() -> None:
    assert docker_stamp(b"2026-12-07T04:22:46.100000000+00:00") == b"2026-12-07T04:22:46.1Z"
    assert docker_stamp(b"2026-12-07T04:22:40.000000000+00:00") == b"2026-12-07T04:22:40Z"
    assert docker_stamp(b"2026-12-07T05:22:46.120000000+01:00") == b"2026-12-07T04:22:46.12Z"
    other = Converter().feed(rec("stdout", "F", b"x", b"2026-12-07T05:22:46.500000000+01:00"))
    assert json.loads(other)["time"] == "2026-12-07T04:22:46.5Z"


def test_back_to_output() -> None:
    c = Converter()
    block = c.feed(
        rec("stdout", "F", b"one")
        + rec("stderr", "F", b"two \xff")
        + rec("stdout", "F", b"three", b"2026-12-07T04:22:47.000000000+00:00")
    )
    objs = objects(block)
    assert convert(objs, BOTH, False) == [
        (cri.STDOUT, b"one\n"),
        (cri.STDERR, "two \ufffd\n".encode()),
        (cri.STDOUT, b"three\n"),
    ]
    assert convert(objs, frozenset((cri.STDOUT,)), False) == [(cri.STDOUT, b"one\nthree\n")]
    assert convert(objs, frozenset((cri.STDOUT,)), True) == [
        (
            cri.STDOUT,
            b"2026-12-07T04:22:46.192818170Z one\n2026-12-07T04:22:47.000000000Z three\n",
        )
    ]
    # a line that is not an object (a torn write, a foreign line) is left out
    assert objects(b'{"log":"a\\n","stream":"stdout","time":"x"}\nnot json\n')[0]["log"] == "a\n"


def _conmon_records(seed: int) -> list[bytes]:
    """What conmon writes for a random mix of output: reads of up to 8 KiB cut into F
    records and a P record for a read that ended inside a line, both streams, escapes,
    bytes that are not UTF-8, long lines."""
    import random

    rnd = random.Random(seed)
    recs: list[bytes] = []
    pieces = [b"y", b"x" * 99, b'q"\\<>&\t', b"\xc3\xa9", b"\xff", b"", b"z" * 20000]
    # control bytes, U+2028/9, and bytes that are not UTF-8: a lone continuation, cut
    # sequences, an overlong form, a surrogate, beyond U+10FFFF, a 4-byte character
    pieces += [bytes(range(32)).replace(b"\n", b""), b"\r\x7f\x1b[0m", b"\xe2\x80\xa8\xe2\x80\xa9"]
    pieces += [b"\x80", b"a\xe2\x80", b"\xe2\x80b", b"\xc0\xaf", b"\xed\xa0\x80"]
    pieces += [b"\xf4\x90\x80\x80", b"\xf0\x9f\x98\x80", b"\xf0\x9f\x98", b"\xe0\x9f\xbf"]
    pieces += [b"+00:00 stdout F x"]  # a head inside a record's text
    for k in range(200):
        stream = rnd.choice(["stdout", "stdout", "stderr"])
        text = b"\n".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 300)))
        if rnd.random() < 0.7:
            text += b"\n"
        ts = b"2026-12-07T04:22:%02d.%09d+00:00" % (k // 10 % 60, rnd.randint(0, 10**9 - 1))
        for i in range(0, len(text), 8192):
            read = text[i : i + 8192]
            parts = read.split(b"\n")
            for p in parts[:-1]:
                recs.append(rec(stream, "F", p, ts))
            if parts[-1]:
                recs.append(rec(stream, "P", parts[-1], ts))
    return recs


def test_by_reads_gives_what_record_by_record_gives() -> None:
    """The Python path by reads, the C accelerator (when built) and the Python path record
    by record write the same bytes, blocks cut anywhere between records."""
    import random

    for seed in range(8):
        recs = _conmon_records(seed)
        rnd = random.Random(seed)
        ways = [Converter(accel=False), Converter(), Converter(accel=False)]
        feeds = [ways[0].feed, ways[1].feed, ways[2]._feed_records]
        got: list[list[bytes]] = [[], [], []]
        i = 0
        while i < len(recs):
            j = i + rnd.randint(1, 400)
            block = b"".join(recs[i:j])
            for feed, out in zip(feeds, got, strict=True):
                out.append(feed(block))
            i = j
        for conv, out in zip(ways, got, strict=True):
            out.append(conv.flush())
        py, accel, by_record = (b"".join(out) for out in got)
        assert py == by_record, seed
        assert accel == py, seed
