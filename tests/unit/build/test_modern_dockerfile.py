"""Pure parts of BuildKit-era Dockerfile support: heredoc openers and bodies (BuildKit's
rules, written here as facts), the command a heredoc RUN runs, parser directives and the
syntax line, COPY/ADD flag parsing and symbolic --chmod, platforms, and the build checks."""

from __future__ import annotations

import pytest

from cove.build import platforms
from cove.build.backend import BuildError
from cove.build.copyflags import copy_flags, parents_base, parse_chmod
from cove.build.dockerfile.frontend import check_syntax, parse_check
from cove.build.dockerfile.heredoc import Opener, opener, openers
from cove.build.dockerfile.heredocrun import run_command
from cove.build.dockerfile.lint import check, variables
from cove.build.dockerfile.parser import ParseError, parse, trigger_node, trigger_text
from cove.build.remote import check_digest, git_ref
from cove.errors import InvalidArgument

SH = ["/bin/sh", "-c"]


# --- heredoc openers --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("RUN <<EOF", [Opener("EOF", True, False)]),
        ("RUN <<-EOF", [Opener("EOF", True, True)]),
        ("RUN cat <<'EOF'", [Opener("EOF", False, False)]),
        ('RUN cat <<"EOF"', [Opener("EOF", False, False)]),
        ('RUN cat <<E"O"F', [Opener("EOF", False, False)]),
        ("RUN cat <<\\EOF", [Opener("EOF", True, False)]),  # only quotes stop expansion
        ("RUN cat 2<<EOF", [Opener("EOF", True, False)]),
        ("RUN cat <<A <<-'B'", [Opener("A", True, False), Opener("B", False, True)]),
        ("RUN cat <<EOF>out", [Opener("EOF>out", True, False)]),
        ("RUN cat <<END-OF", [Opener("END-OF", True, False)]),
        ("RUN cat<<EOF", []),  # not a word of its own
        ("RUN cat << EOF", []),  # a space after << : not a heredoc
        ('RUN echo "<<EOF"', []),  # quoted: text
        ("RUN echo '<<EOF' x", []),
        ("RUN echo <<", []),
        ("RUN echo 'unterminated <<EOF", []),
    ],
)
def test_openers(line: str, want: list[Opener]) -> None:
    assert openers(line) == want


def test_bodies_terminators_and_chomp() -> None:
    df = parse(
        "FROM a\nRUN <<-EOF\n\t\tindented\n\tEOF\n"
        "RUN <<EOF\n\tkept\n\tEOF\nEOF\n"
        "COPY <<one <<two /d/\n1\none\n2\ntwo\n"
    )
    run1, run2, copy = df.nodes[1:]
    assert run1.heredocs[0].content == "\t\tindented\n" and run1.heredocs[0].text() == "indented\n"
    assert run2.heredocs[0].content == "\tkept\n\tEOF\n"  # no <<-: a tabbed EOF is a line
    assert [(h.name, h.content) for h in copy.heredocs] == [("one", "1\n"), ("two", "2\n")]
    with pytest.raises(ParseError, match="unterminated heredoc"):
        parse("FROM a\nRUN cat <<EOF\nno end\n")


def test_run_command_shapes() -> None:
    def cmd(text: str) -> tuple[list[str], dict[str, str]]:
        rc = run_command(parse("FROM a\n" + text).nodes[1], SH)
        return rc.argv, rc.scripts

    assert cmd("RUN <<EOF\necho hi\nEOF\n") == ([*SH, "echo hi\n"], {})
    assert cmd("RUN <<-EOF\n\techo hi\n\tEOF\n") == ([*SH, "echo hi\n"], {})
    assert cmd("RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n") == (
        [*SH, "/dev/pipes/EOF"],
        {"/dev/pipes/EOF": "#!/usr/bin/env python3\nprint(1)\n"},
    )
    # a heredoc inside a longer command: the shell reads it (body then terminator)
    assert cmd("RUN cat <<'A' > /f\n$x\nA\n") == ([*SH, "cat <<'A' > /f\n$x\nA"], {})
    assert cmd("RUN cat <<A <<B\n1\nA\n2\nB\n") == ([*SH, "cat <<A <<B\n1\nA\n2\nB"], {})
    assert cmd('RUN ["echo", "<<EOF"]\n') == (["echo", "<<EOF"], {})
    assert opener("<<EOF") == Opener("EOF", True, False)


def test_onbuild_heredoc_trigger_round_trip() -> None:
    node = parse("FROM a\nONBUILD RUN <<-EOF\n\techo x\n\tEOF\n").nodes[1]
    text = trigger_text(node)
    assert text == "RUN <<-EOF\n\techo x\nEOF"
    sub = trigger_node(text, 1)
    assert sub.cmd == "run" and [(h.name, h.text()) for h in sub.heredocs] == [("EOF", "echo x\n")]
    assert trigger_node("RUN echo y", 1).args == ["echo y"]


# --- directives and the syntax line -----------------------------------------------------
def test_directives_as_buildkit_reads_them() -> None:
    df = parse("# SYNTAX = docker/dockerfile:1\n#escape=`\n# check=error=true\nFROM a\n")
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "`",
                             "check": "error=true"}  # fmt: skip
    assert df.escape == "`"
    # after a comment, a blank line or an unknown directive, directives are comments
    for text in ("# hello\n# escape=`\nFROM a\n", "\n# escape=`\nFROM a\n",
                 "# foo=bar\n# escape=`\nFROM a\n", "FROM a\n# escape=`\n"):  # fmt: skip
        assert parse(text).escape == "\\", text
    with pytest.raises(ParseError, match="only one escape parser directive"):
        parse("# escape=`\n# escape=\\\nFROM a\n")


@pytest.mark.parametrize(
    "value",
    ["docker/dockerfile:1", "docker/dockerfile:1.7", "docker/dockerfile:1.7-labs",
     "docker/dockerfile:1.4.3", "docker/dockerfile:labs", "docker.io/docker/dockerfile:1",
     "docker/dockerfile-upstream:1", "docker/dockerfile", "docker/dockerfile:1@sha256:" + "a" * 64],
)  # fmt: skip
def test_builtin_frontends_accepted(value: str) -> None:
    check_syntax(value)


@pytest.mark.parametrize(
    "value", ["example.com/my/frontend:1", "docker/dockerfile:0.9", "tonistiigi/dockerfile:x",
              "docker/dockerfile:2"],
)  # fmt: skip
def test_other_frontends_refused(value: str) -> None:
    with pytest.raises(InvalidArgument, match="built-in Dockerfile frontend"):
        check_syntax(value)


def test_check_directive() -> None:
    cfg = parse_check("skip=JSONArgsRecommended,StageNameCasing;error=true")
    assert cfg.error and not cfg.enabled("StageNameCasing") and cfg.enabled("UndefinedVar")
    assert not parse_check("skip=all").enabled("UndefinedVar")
    with pytest.raises(InvalidArgument):
        parse_check("nope=1")


# --- COPY/ADD flags -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "mode", "is_dir", "want"),
    [
        ("755", 0o600, False, 0o755),
        ("0640", 0o777, False, 0o640),
        ("u+x", 0o644, False, 0o744),
        ("u+x,g=r,o=", 0o666, False, 0o740),
        ("+x", 0o644, False, 0o755),
        ("a-w", 0o666, False, 0o444),
        ("go-rwx", 0o755, False, 0o700),
        ("a+X", 0o600, False, 0o600),
        ("a+X", 0o700, True, 0o711),
        ("a+X", 0o744, False, 0o755),
        ("g=u", 0o740, False, 0o770),
        ("u+s", 0o755, False, 0o4755),
    ],
)
def test_chmod(spec: str, mode: int, is_dir: bool, want: int) -> None:
    assert parse_chmod(spec).apply(mode, is_dir) == want


@pytest.mark.parametrize("bad", ["", "8", "12345", "u+q", "z=r", "u+x,", "rwx"])
def test_chmod_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid chmod parameter"):
        parse_chmod(bad)


def test_copy_flags_and_parents_pivot() -> None:
    node = parse(
        "FROM a\nCOPY --link --parents --exclude=*.md --exclude=tmp/ --chmod=u+x a b /d/\n"
    ).nodes[1]
    cf = copy_flags(node)
    assert cf.link and cf.parents and cf.excludes == ["*.md", "tmp/"] and cf.chmod == "u+x"
    m = cf.matcher()
    assert m is not None and m.excluded("x.md") and m.excluded("tmp/f") and not m.excluded("x")
    assert not copy_flags(parse("FROM a\nCOPY --link=false a /b\n").nodes[1]).link
    assert parents_base("x/y/a.txt") == "" and parents_base("./x/./y/a.txt") == "x"
    assert parents_base("/a/b/./c/*") == "a/b"


def test_add_sources() -> None:
    g = git_ref("https://example.invalid/org/repo.git#v1.2:docs/sub")
    assert g is not None and (g.url, g.ref, g.subdir) == (
        "https://example.invalid/org/repo.git", "v1.2", "docs/sub")  # fmt: skip
    assert git_ref("https://example.invalid/file.tar.gz") is None
    assert git_ref("git://example.invalid/repo") is not None
    with pytest.raises(BuildError, match="SSH agent forwarding"):
        git_ref("git@example.invalid:org/repo.git")
    assert check_digest("sha256:" + "a" * 64)
    for bad in ("sha256:abc", "md5:" + "a" * 32, "a" * 64):
        with pytest.raises(BuildError, match="invalid checksum digest format"):
            check_digest(bad)


# --- platforms --------------------------------------------------------------------------------
def test_platform_parsing_and_args(monkeypatch: pytest.MonkeyPatch) -> None:
    assert platforms.parse("linux/x86_64") == ("linux", "amd64", "")
    assert platforms.parse("linux/aarch64") == ("linux", "arm64", "v8")
    assert platforms.parse("linux/armhf") == ("linux", "arm", "v7")
    assert platforms.text(("linux", "arm64", "v8")) == "linux/arm64"
    monkeypatch.setattr(platforms, "host", lambda: ("linux", "amd64", ""))
    monkeypatch.setattr(platforms, "emulated", lambda arch: arch == "riscv64")
    assert platforms.check(None) == ("linux", "amd64", "")
    assert platforms.check("linux/amd64") == ("linux", "amd64", "")
    assert platforms.check("linux/riscv64") == ("linux", "riscv64", "")  # an emulator is there
    with pytest.raises(InvalidArgument, match="no emulator for arm64"):
        platforms.check("linux/arm64")
    with pytest.raises(InvalidArgument, match="one platform at a time"):
        platforms.check("linux/amd64,linux/arm64")
    with pytest.raises(InvalidArgument, match="Linux images only"):
        platforms.check("windows/amd64")
    a = platforms.args(("linux", "arm64", "v8"))
    want = ("linux/arm64", "arm64", "")
    assert (a["TARGETPLATFORM"], a["TARGETARCH"], a["TARGETVARIANT"]) == want
    assert (a["BUILDPLATFORM"], a["BUILDOS"]) == ("linux/amd64", "linux")


# --- build checks ---------------------------------------------------------------------------
def _rules(text: str, env: set[str] | None = None) -> list[tuple[str, int]]:
    found = check(parse(text), lambda ref: env)
    return [(f.rule, f.line) for f in found]


def test_lint_rules() -> None:
    assert _rules('FROM a AS base\nCMD ["x"]\n', {"PATH"}) == []
    assert _rules("FROM a as Build\nCMD x\nENTRYPOINT y\n") == [
        ("FromAsCasing", 1), ("StageNameCasing", 1), ("JSONArgsRecommended", 2),
        ("JSONArgsRecommended", 3)]  # fmt: skip
    assert _rules("FROM a AS x\nFROM b AS x\nMAINTAINER me\n") == [
        ("DuplicateStageName", 2), ("MaintainerDeprecated", 3)]  # fmt: skip
    assert _rules("FROM a\nWORKDIR app\nCMD [\"a\"]\nCMD [\"b\"]\n") == [
        ("WorkdirRelativePath", 2), ("MultipleInstructionsDisallowed", 4)]  # fmt: skip
    assert _rules("FROM $IMG\n") == [("UndefinedArgInFrom", 1)]
    assert _rules("ARG IMG=a\nFROM $IMG\nFROM --platform=$BUILDPLATFORM a\n") == []
    assert _rules("FROM a\nENV K V\nrun x\n") == [
        ("ConsistentInstructionCasing", 1), ("LegacyKeyValueFormat", 2)]  # fmt: skip


def test_lint_undefined_variables() -> None:
    text = ("FROM a\nARG X\nENV Y=$X\nCOPY $Y $Z ${W:-dflt} '$Q' \\$E /d/\nRUN echo $NOPE\n"
            "ARG TARGETARCH\nLABEL arch=$TARGETARCH home=$HOME\n")  # fmt: skip
    found = check(parse(text), lambda ref: {"PATH", "HOME"})
    assert [(f.rule, f.line, f.message.split()[0]) for f in found] == [
        ("UndefinedVar", 4, "$Z")]  # fmt: skip
    # an unknown base image: no guesses
    assert check(parse(text), lambda ref: None) == []
    assert variables("a $B ${C} ${D:-x} '$E' \"$F\" \\$G") == ["B", "C", "F"]
