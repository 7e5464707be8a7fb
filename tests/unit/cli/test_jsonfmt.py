"""Go's json.Indent on raw text."""

from __future__ import annotations

import json

from cove.cli.jsonfmt import indent, join_indented


def test_matches_python_indent_for_plain_data() -> None:
    data = {"Id": "x", "List": [1, 2, {"a": None}], "Empty": [], "Obj": {}, "S": "a,b:{c}"}
    raw = json.dumps(data, separators=(",", ":"))
    assert indent(raw) == json.dumps(data, indent=4)


def test_strings_are_copied_verbatim() -> None:
    raw = '{"Cmd":["echo \\u003e\\"x\\""]}'
    assert indent(raw) == '{\n    "Cmd": [\n        "echo \\u003e\\"x\\""\n    ]\n}'


def test_join() -> None:
    assert join_indented([]) == "[]"
    assert join_indented(['{"a":1}\n', '{"b":2}']) == (
        '[\n    {\n        "a": 1\n    },\n    {\n        "b": 2\n    }\n]'
    )
