"""Whole-block conversion of k8s-file records (the C-speed way a follower takes) gives what
the record-by-record way gives, for any mix of streams, P/F pieces, stamps and junk."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cove.logdriver import cri
from cove.logdriver.reader import LogReader

BOTH = frozenset((cri.STDOUT, cri.STDERR))


def slow(block: bytes, streams: frozenset[int], timestamps: bool) -> list[cri.Chunk]:
    r = LogReader.__new__(LogReader)
    r.streams, r.since, r.until, r.timestamps = streams, 0.0, 0.0, timestamps
    lines = block.split(b"\n")
    lines.pop()
    return r._convert(lines)


def joined(chunks: list[cri.Chunk]) -> list[cri.Chunk]:
    """Chunks with neighbours of one stream merged (where the ways may cut differently)."""
    out: list[cri.Chunk] = []
    for s, d in chunks:
        if out and out[-1][0] == s:
            out[-1] = (s, out[-1][1] + d)
        elif d:
            out.append((s, d))
    return out


STAMPS = [
    b"2026-01-01T00:00:00.000000001+00:00",
    b"2026-01-01T00:00:01.123456789+00:00",
    b"2026-01-01T02:00:01.000000002+02:00",  # another zone
    b"2026-01-01T02:00:01.5+02:00",  # not as conmon writes it
]
record = st.tuples(
    st.sampled_from(STAMPS),
    st.sampled_from([b"stdout", b"stderr"]),
    st.sampled_from([b"F", b"P"]),
    st.one_of(st.none(), st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"."))),
).map(lambda t: b"%b %b %b%b\n" % (t[0], t[1], t[2], b"" if t[3] is None else b" " + t[3]))
junk = st.sampled_from([b"\n", b"garbage\n", b"ts stdout X data\n", b"ts other F x\n"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(record, record, record, junk), max_size=12),
    st.sampled_from([BOTH, frozenset((cri.STDOUT,)), frozenset((cri.STDERR,))]),
    st.booleans(),
)
def test_block_way_agrees_with_record_way(
    recs: list[bytes], streams: frozenset[int], timestamps: bool
) -> None:
    block = b"".join(recs)
    fast = cri.convert_block(block, streams, timestamps)
    if fast is not None:
        assert joined(fast) == joined(slow(block, streams, timestamps))


def test_usual_blocks_take_the_block_way() -> None:
    block = (
        b"2026-01-01T00:00:00.000000001+00:00 stdout F hello\n"
        b"2026-01-01T00:00:00.000000002+00:00 stdout P long \n"
        b"2026-01-01T00:00:00.000000003+00:00 stdout F line\n"
        b"2026-01-01T00:00:00.000000004+00:00 stderr F oops\n"
        b"2026-01-01T00:00:00.000000005+00:00 stdout F \n"
    )
    assert cri.convert_block(block, BOTH, False) == [
        (1, b"hello\nlong line\n"),
        (2, b"oops\n"),
        (1, b"\n"),
    ]
    assert cri.convert_block(block, frozenset((cri.STDOUT,)), False) == [
        (1, b"hello\nlong line\n\n")
    ]
    assert cri.convert_block(block, frozenset((cri.STDERR,)), True) == [
        (2, b"2026-01-01T00:00:00.000000004Z oops\n")
    ]
    assert cri.convert_block(block[:51], BOTH, True) == [
        (1, b"2026-01-01T00:00:00.000000001Z hello\n")
    ]


def test_blocks_the_block_way_leaves_to_the_record_way() -> None:
    other_zone = b"2026-01-01T02:00:00.000000005+02:00 stdout F hi\n"
    assert cri.convert_block(other_zone, BOTH, False) == [(1, b"hi\n")]
    assert cri.convert_block(other_zone, BOTH, True) is None
    short_stamp = b"2026-01-01T02:00:00.5+02:00 stdout F hi\n"
    assert cri.convert_block(short_stamp, BOTH, False) is None
    no_space = b"2026-01-01T00:00:00.000000001+00:00 stdout F\n"
    assert cri.convert_block(no_space, BOTH, False) is None
    assert cri.convert_block(b"not a record\n", BOTH, False) is None
    assert cri.convert_block(b"", BOTH, False) == []


def test_block_times_are_the_first_and_last_records() -> None:
    block = (
        b"2026-01-01T00:00:01.000000000+00:00 stdout F a\n"
        b"2026-01-01T00:00:03.500000000+00:00 stdout F b\n"
    )
    first, last = cri.block_times(block)
    assert last - first == 2.5
