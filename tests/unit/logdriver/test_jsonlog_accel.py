"""The optional C accelerator of the json-file converter (``cove.logdriver._jsonlog``)
against the Python path, the reference: record by record on random bytes.  The block-level
comparison on random conmon output is test_jsonlog's test_by_reads_gives_what_record_by_
record_gives.  Skipped where the extension is not built, except where the environment says
it must be (``COVE_REQUIRE_EXT=1``, as ``make test`` sets): a CI that lost it fails."""

from __future__ import annotations

import os
import random

import pytest

from cove.logdriver import cri, jsonlog
from cove.logdriver.jsonlog import Converter, docker_stamp, message

TS = b"2026-12-07T04:22:46.100000000+00:00"


def test_the_extension_is_built_where_it_must_be() -> None:
    if os.environ.get("COVE_REQUIRE_EXT") != "1":
        pytest.skip("COVE_REQUIRE_EXT is not set")
    assert jsonlog._accel is not None, "cove.logdriver._jsonlog was not built (setup.py)"
    assert Converter().accel is not None


def _runs() -> jsonlog.Runs:
    if jsonlog._accel is None:
        pytest.skip("the C accelerator is not built")
    return jsonlog._accel


def test_one_record_of_random_bytes_as_the_python_path() -> None:
    runs = _runs()
    rnd = random.Random(14)
    # bytes around the edges of UTF-8 and of the escapes, weighted towards the odd ones
    alphabet = [*range(0x00, 0x20), 0x22, 0x5C, 0x3C, 0x3E, 0x26, 0x7F, 0x41, 0x20]
    alphabet += [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xA8, 0xA9, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF]
    alphabet += [0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    for _ in range(3000):
        data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))).replace(b"\n", b"")
        if rnd.random() < 0.3:
            data = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 60)))
            data = data.replace(b"\n", b"")
        stream = rnd.choice([b"stdout", b"stderr"])
        stamp = b"2026-12-07T04:22:46.%09d+00:00" % rnd.choice([0, 10**8, 123456789, 5])
        line = stamp + b" " + stream + b" F " + data + b"\n"
        got, stop = runs(line, 0, 0)
        want = message(data, cri.STDERR if stream == b"stderr" else cri.STDOUT,
                       docker_stamp(stamp), True)  # fmt: skip
        assert (got, stop) == (want, len(line)), data


def test_long_plain_runs_with_odd_bytes_anywhere_as_the_python_path() -> None:
    """The scan takes 16 plain bytes at a time: an odd byte at every place in and across
    those blocks, and multi-byte characters cut by a block's edge, as the Python path."""
    runs = _runs()
    rnd = random.Random(1416)
    odd = [b"\x00", b"\x1f", b'"', b"\\", b"<", b">", b"&", b"\x7f", b"\x80", b"\xff",
           "\u00e9".encode(), "\u2028".encode(), "\u20ac".encode(), "\U0001f600".encode(),
           b"\xe2\x82", b"\xf0\x9f"]  # fmt: skip
    for n in range(400):
        plain = bytes(rnd.choice(b"abcXYZ 019~{}") for _ in range(rnd.randint(0, 70)))
        at = n % (len(plain) + 1) if n < 100 else rnd.randint(0, len(plain))
        data = plain[:at] + rnd.choice(odd) + plain[at:] if n % 5 else plain
        line = TS + b" stdout F " + data + b"\n"
        got, stop = runs(line, 0, 0)
        want = message(data, cri.STDOUT, docker_stamp(TS), True)
        assert (got, stop) == (want, len(line)), data


def test_stops_where_the_python_path_takes_over() -> None:
    runs = _runs()
    f_out = TS + b" stdout F a\n"
    f_err = TS + b" stderr F b\n"
    p_out = TS + b" stdout P c\n"
    other = b"2026-12-07T05:22:46.100000000+01:00 stdout F d\n"
    # a P record joined with its stream's next F record, at that record's place
    block = f_out + p_out + f_err + f_out
    assert runs(block, 0, 0)[1] == len(block)
    assert runs(block, 0, 0)[0].split(b"\n")[1:3] == [
        b'{"log":"b\\n","stream":"stderr","time":"2026-12-07T04:22:46.1Z"}',
        b'{"log":"ca\\n","stream":"stdout","time":"2026-12-07T04:22:46.1Z"}',
    ]
    # P records it leaves to the Python side: the output stops before them
    assert runs(f_out + p_out + f_err, 0, 0) == (runs(f_out, 0, 0)[0], len(f_out))
    assert runs(f_out + p_out + p_out + f_out, 0, 0)[1] == len(f_out)
    cut = TS + b" stdout P \xc3\n"  # a character that the next read may end
    assert runs(f_out + cut + f_out, 0, 0)[1] == len(f_out)
    big = TS + b" stdout P " + b"x" * (16 * 1024 - 1) + b"\n"  # pieces: the Python side
    assert runs(big + f_out, 0, 0)[1] == 0
    # a held stdout line: its records are the Python side's; stderr's are not
    assert runs(f_err + f_out, 0, 1)[1] == len(f_err)
    assert runs(f_err + p_out, 0, 1)[1] == len(f_err)
    assert runs(f_out + other, 0, 2)[1] == len(f_out)
    assert runs(f_out + b"short\n", 0, 0)[1] == len(f_out)
    assert runs(f_out + f_out[:-1], 0, 0)[1] == len(f_out)
    assert runs(block, len(block), 0) == (b"", len(block))
    with pytest.raises(ValueError):
        runs(block, len(block) + 1, 0)


def test_lines_cut_by_reads_as_the_python_path() -> None:
    """A P record and the rest of its line (other records between), random bytes."""
    _runs()
    rnd = random.Random(18)
    pick = [b"a", b"\xc3", b"\xa9", b"\xe2", b"\x80", b"\xa8", b"<", b"\t", b"\xff", b"z" * 900]
    for _ in range(2000):
        stream = rnd.choice([b"stdout", b"stderr"])
        recs = []
        for flag in (b"P", b"F", b"P", b"F", b"F"):
            data = b"".join(rnd.choice(pick) for _ in range(rnd.randint(0, 12)))
            if rnd.random() < 0.3:
                stream = b"stderr" if stream == b"stdout" else b"stdout"
            recs.append(TS + b" " + stream + b" " + flag + b" " + data + b"\n")
        block = b"".join(recs)
        fast, ref = Converter(), Converter(accel=False)
        assert fast.feed(block) + fast.flush() == ref.feed(block) + ref.flush(), block
