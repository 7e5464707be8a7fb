"""Pure pieces of the client: JSON, query encoding, frames, escape keys, error bodies."""

from __future__ import annotations

import pytest

from cove.client import jsonlite
from cove.client.api import encode_query, error_message, quote_path, resolve_host, socket_path
from cove.client.stream import EscapeDetector, FrameDecoder, encode_frame, parse_detach_keys


def test_jsonlite_roundtrip() -> None:
    data = {"a": [1, 2.5, "é<>", None, True, False], "b": {}, "c": -3}
    text = jsonlite.dumps(data)
    assert text == '{"a":[1,2.5,"é<>",null,true,false],"b":{},"c":-3}'
    assert jsonlite.loads(text) == data
    assert jsonlite.loads(b'  {"x": "\\u00e9"}\n') == {"x": "é"}


@pytest.mark.parametrize("bad", ["", "{", '{"a":1} x', "nope"])
def test_jsonlite_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        jsonlite.loads(bad)


def test_query_encoding() -> None:
    q = encode_query({"stream": True, "stdin": False, "t": 0, "name": "a b&c", "x": None,
                      "changes": ["ENV A=1", 'CMD ["sh"]']})  # fmt: skip
    assert q == "stream=1&t=0&name=a+b%26c&changes=ENV+A%3D1&changes=CMD+%5B%22sh%22%5D"


def test_path_quoting_keeps_image_names() -> None:
    assert quote_path("/images/localhost:5000/x/y:1/json") == "/images/localhost:5000/x/y:1/json"
    assert quote_path("/containers/a b?/json") == "/containers/a%20b%3F/json"


def test_error_messages() -> None:
    assert error_message(404, "Not Found", b'{"message":"No such container: x"}') == (
        "No such container: x"
    )
    assert error_message(500, "Internal Server Error", b"plain text\n") == "plain text"
    assert error_message(502, "Bad Gateway", b"") == "502 Bad Gateway"


def test_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVE_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert resolve_host() == "unix:///run/cove.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/d.sock")
    assert resolve_host() == "unix:///tmp/d.sock"
    monkeypatch.setenv("COVE_HOST", "unix:///tmp/x.sock")
    assert resolve_host() == "unix:///tmp/x.sock"
    assert resolve_host("unix:///y") == "unix:///y"
    assert socket_path("unix:///tmp/x.sock") == "/tmp/x.sock"
    assert socket_path("tcp://1.2.3.4:2375") == ""  # TCP: cove.client.tls connects
    with pytest.raises(ValueError):
        socket_path("ssh://user@host")


def test_frames_split_anywhere() -> None:
    stream = encode_frame(1, b"hello\n") + encode_frame(2, b"") + encode_frame(2, b"err")
    for cut in range(len(stream) + 1):
        d = FrameDecoder()
        frames = d.feed(stream[:cut]) + d.feed(stream[cut:])
        assert frames == [(1, b"hello\n"), (2, b""), (2, b"err")]
        assert d.buf == b""


def test_escape_detector() -> None:
    e = EscapeDetector()
    assert e.feed(b"ab\x10") == b"ab"  # held: could be the start of the sequence
    assert e.feed(b"x") == b"\x10x"
    assert not e.detached
    assert e.feed(b"\x10\x10") == b"\x10"
    assert e.feed(b"\x11rest") == b""
    assert e.detached


def test_detach_keys_spec() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,x") == b"\x01x"
    with pytest.raises(ValueError):
        parse_detach_keys("ctrl-1")
