"""The Go template subset used by --format and inspect -f."""

from __future__ import annotations

from typing import Any

import pytest

from cove.cli.tmpl import fmt_value, render
from cove.cli.tmpl_parse import TemplateError

DATA: dict[str, Any] = {
    "Id": "abc",
    "Name": "/web",
    "State": {"Status": "running", "Running": True, "Pid": 42, "Health": None},
    "Config": {
        "Cmd": ["sh", "-c", "echo hi"],
        "Entrypoint": None,
        "Env": ["A=1", "B=2"],
        "Labels": {"b": "2", "a": "1"},
    },
    "Ports": [],
}


@pytest.mark.parametrize(
    ("src", "out"),
    [
        ("{{.State.Status}}", "running"),
        ("{{.Id}}", "abc"),
        ("{{json .Config.Cmd}}", '["sh","-c","echo hi"]'),
        ("{{.Config.Cmd}}", "[sh -c echo hi]"),
        ("{{.Config.Labels}}", "map[a:1 b:2]"),
        ("{{.Config.Entrypoint}}", "[]"),
        ("{{json .Config.Entrypoint}}", "null"),
        ("{{.State}}", "{running true 42 <nil>}"),
        ("{{index .Config.Cmd 0}}", "sh"),
        ('{{index .Config.Labels "a"}}', "1"),
        ("{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}", "a=1 b=2 "),
        ("{{range .Ports}}x{{else}}none{{end}}", "none"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ('{{if eq .State.Status "exited"}}a{{else if .State.Running}}b{{end}}', "b"),
        ("{{with .State}}{{.Pid}}{{end}}", "42"),
        ('{{.State.Pid | printf "%05d"}}', "00042"),
        ('{{printf "%s-%v" .Name .State.Pid}}', "/web-42"),
        ('{{join .Config.Cmd "+"}}', "sh+-c+echo hi"),
        ("{{upper .Name}} {{lower .State.Status}} {{len .Config.Env}}", "/WEB running 2"),
        ("{{println .Id}}", "abc\n"),
        ('{{- " a " -}}  {{- "b"}}', " a b"),
        ("{{/* comment */}}x", "x"),
        ("{{$x := .Id}}{{$x}}{{$.Name}}", "abc/web"),
        ("{{(index .Config.Env 1)}}", "B=2"),
        ("{{truncate .Name 3}}", "/we"),
        ("{{not .State.Running}} {{and 1 0}} {{or 0 2}}", "false 0 2"),
    ],
)
def test_render(src: str, out: str) -> None:
    assert render(src, DATA) == out


def test_missing_key_strict_and_lenient() -> None:
    with pytest.raises(TemplateError, match='map has no entry for key "Nope"'):
        render("{{.Nope}}", DATA)
    assert render("{{.Nope}}", DATA, strict=False) == "<no value>"


def test_nil_pointer() -> None:
    with pytest.raises(TemplateError, match="nil pointer evaluating"):
        render("{{.State.Health.Status}}", DATA)


@pytest.mark.parametrize("src", ["{{.Id", "{{if .Id}}x", "{{end}}", "{{nosuchfunc .Id}}"])
def test_errors(src: str) -> None:
    with pytest.raises(TemplateError):
        render(src, DATA)


def test_fmt_value_like_go() -> None:
    assert fmt_value(None) == "<nil>"
    assert fmt_value(True) == "true"
    assert fmt_value(1.0) == "1"
    assert fmt_value(2.5) == "2.5"
    assert fmt_value({"b": 1, "a": [1, 2]}) == "map[a:[1 2] b:1]"
