"""Every Dockerfile instruction: build an image with it, then run or inspect the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, inspect, run

Ctx = Callable[[dict[str, Any]], str]


def test_from_run_cmd_and_output_shape(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN echo built | tee /built\nCMD cat /built\n"})
    r = build(bd, d, "-t", "b-basic:1", "-t", "b-basic:2")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Step 1/3 : FROM busybox\n" in out
    assert "Step 2/3 : RUN echo built | tee /built\n ---> Running in " in out
    assert "\nbuilt\n" in out
    assert "Removing intermediate container " in out
    assert "Successfully built " in out
    assert "Successfully tagged b-basic:1\n" in out and "Successfully tagged b-basic:2\n" in out
    assert run(bd, "b-basic:1") == "built\n"
    assert inspect(bd, "b-basic:1")["Id"] == inspect(bd, "b-basic:2")["Id"]
    assert bd.cove("ps", "-aq").stdout.strip() == ""  # intermediate containers removed


def test_env_both_forms_and_expansion(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nENV A=one B=\"two words\"\nENV C $A-${B}\nENV D=${MISSING:-dflt} E=$A\n"
        "CMD echo \"$A|$B|$C|$D|$E\"\n"
    )})  # fmt: skip
    assert build(bd, d, "-t", "b-env").returncode == 0
    assert run(bd, "b-env") == "one|two words|one-two words|dflt|one\n"
    env = inspect(bd, "b-env")["Config"]["Env"]
    assert "C=one-two words" in env


def test_arg_build_arg_and_arg_before_from(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "ARG BASE=busybox\nFROM $BASE\nARG GREETING=hello\nARG WHO\n"
        "RUN echo \"$GREETING $WHO\" > /msg\nCMD cat /msg\n"
    )})  # fmt: skip
    r = build(bd, d, "-t", "b-arg", "--build-arg", "WHO=world", "--build-arg", "UNUSED=1")
    assert r.returncode == 0, r.stderr
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in r.stdout
    assert run(bd, "b-arg") == "hello world\n"
    # ARG values are not part of the image's environment
    assert not any(e.startswith("WHO=") for e in inspect(bd, "b-arg")["Config"]["Env"] or [])
    r = build(bd, d, "-t", "b-arg2", "--build-arg", "WHO=you", "--build-arg", "GREETING=bye")
    assert r.returncode == 0 and run(bd, "b-arg2") == "bye you\n"


def test_label_and_label_flag(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": 'FROM busybox\nLABEL a=1 "b c"="2 3"\nLABEL old style\n'})
    assert build(bd, d, "-t", "b-label", "--label", "from.cli=yes").returncode == 0
    labels = inspect(bd, "b-label")["Config"]["Labels"]
    assert labels == {"a": "1", "b c": "2 3", "old": "style", "from.cli": "yes"}
    assert run(bd, "b-label", "echo", "runs") == "runs\n"


def test_cmd_and_entrypoint_semantics(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nCMD [\"ignored\"]\nENTRYPOINT [\"echo\", \"ep\"]\nCMD [\"default\"]\n"
    )})  # fmt: skip
    assert build(bd, d, "-t", "b-ep").returncode == 0
    cfg = inspect(bd, "b-ep")["Config"]
    assert cfg["Entrypoint"] == ["echo", "ep"] and cfg["Cmd"] == ["default"]
    assert run(bd, "b-ep") == "ep default\n"
    assert run(bd, "b-ep", "other") == "ep other\n"
    d = ctx({"Dockerfile": 'FROM busybox\nCMD ["x"]\nFROM busybox\nENTRYPOINT echo shell $0\n'})
    assert build(bd, d, "-t", "b-ep2").returncode == 0
    cfg = inspect(bd, "b-ep2")["Config"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "echo shell $0"]
    # ENTRYPOINT resets a CMD inherited from the base image (busybox has none here either)
    assert run(bd, "b-ep2") == "shell /bin/sh\n"


def test_expose_volume_user_stopsignal_maintainer(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nMAINTAINER someone <a@b.c>\nEXPOSE 80 53/udp 8000-8001\n"
        "VOLUME /data\nVOLUME [\"/v1\", \"/v2\"]\nSTOPSIGNAL SIGINT\n"
        "USER 1234:5678\nCMD id\n"
    )})  # fmt: skip
    assert build(bd, d, "-t", "b-meta").returncode == 0
    img = inspect(bd, "b-meta")
    cfg = img["Config"]
    assert img["Author"] == "someone <a@b.c>"
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert set(cfg["Volumes"]) == {"/data", "/v1", "/v2"}
    assert cfg["StopSignal"] == "SIGINT" and cfg["User"] == "1234:5678"
    assert run(bd, "b-meta") == "uid=1234 gid=5678 groups=5678\n"


def test_user_applies_to_following_run(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nUSER nobody\nRUN id -un > /tmp/who\nCMD cat /tmp/who\n"})
    assert build(bd, d, "-t", "b-user").returncode == 0
    assert run(bd, "b-user") == "nobody\n"


def test_workdir_relative_chain_and_creation(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nWORKDIR /a\nWORKDIR b\nENV SUB=c\nWORKDIR $SUB\nRUN pwd > here\n"
        "CMD cat /a/b/c/here; ls -ld /a/b/c | cut -c1-10\n"
    )})  # fmt: skip
    assert build(bd, d, "-t", "b-workdir").returncode == 0
    assert inspect(bd, "b-workdir")["Config"]["WorkingDir"] == "/a/b/c"
    assert run(bd, "b-workdir") == "/a/b/c\ndrwxr-xr-x\n"


def test_shell_instruction(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nSHELL [\"/bin/sh\", \"-xc\"]\nRUN echo traced > /t\nCMD cat /t\n"
    )})  # fmt: skip
    r = build(bd, d, "-t", "b-shell")
    assert r.returncode == 0
    assert "+ echo traced" in r.stdout  # the RUN went through the new shell (its trace)
    cfg = inspect(bd, "b-shell")["Config"]
    assert cfg["Shell"] == ["/bin/sh", "-xc"] and cfg["Cmd"] == ["/bin/sh", "-xc", "cat /t"]
    assert run(bd, "b-shell") == "traced\n"


def test_healthcheck(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nHEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD true\n"
        "FROM busybox\nHEALTHCHECK NONE\n"
    )})  # fmt: skip
    assert build(bd, d, "-t", "b-health", "--target", "").returncode == 0
    hc = inspect(bd, "b-health")["Config"]["Healthcheck"]
    assert hc == {"Test": ["NONE"]}
    hc_line = "HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD true"
    d2 = ctx({"Dockerfile": f"FROM busybox\n{hc_line}\n"})
    assert build(bd, d2, "-t", "b-health2").returncode == 0
    hc = inspect(bd, "b-health2")["Config"]["Healthcheck"]
    assert hc == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000,
                  "Timeout": 3_000_000_000, "Retries": 2}  # fmt: skip
    assert run(bd, "b-health2", "echo", "ok") == "ok\n"


def test_onbuild_triggers_run_in_child(bd: Daemon, ctx: Ctx) -> None:
    parent = ctx({"Dockerfile": (
        "FROM busybox\nONBUILD COPY msg /msg\nONBUILD RUN echo trig >> /msg\n"
    )})  # fmt: skip
    assert build(bd, parent, "-t", "b-onbuild-parent").returncode == 0
    assert inspect(bd, "b-onbuild-parent")["Config"]["OnBuild"] == [
        "COPY msg /msg", "RUN echo trig >> /msg"]  # fmt: skip
    child = ctx({"Dockerfile": "FROM b-onbuild-parent\nCMD cat /msg\n", "msg": "from child\n"})
    r = build(bd, child, "-t", "b-onbuild-child")
    assert r.returncode == 0, r.stderr
    assert "# Executing 2 build triggers" in r.stdout
    assert run(bd, "b-onbuild-child") == "from child\ntrig\n"
    assert not inspect(bd, "b-onbuild-child")["Config"].get("OnBuild")
    bad = ctx({"Dockerfile": "FROM busybox\nONBUILD ONBUILD RUN x\n"})
    r = build(bd, bad, "-t", "b-onbuild-bad")
    assert r.returncode != 0 and "ONBUILD ONBUILD" in r.stderr
    bad = ctx({"Dockerfile": "FROM busybox\nONBUILD FROM busybox\n"})
    r = build(bd, bad)
    assert r.returncode != 0 and "FROM isn't allowed as an ONBUILD trigger" in r.stderr


def test_run_exec_form_and_heredoc(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": (
        "FROM busybox\nRUN [\"sh\", \"-c\", \"echo exec > /e\"]\n"
        "RUN <<EOF\necho line1 > /h\necho line2 >> /h\nEOF\n"
        "RUN cat <<EOT > /h2\nheredoc body\nEOT\n"
        "COPY <<EOF /copied\ncopied text\nEOF\n"
        "CMD cat /e /h /h2 /copied\n"
    )})  # fmt: skip
    r = build(bd, d, "-t", "b-heredoc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert run(bd, "b-heredoc") == "exec\nline1\nline2\nheredoc body\ncopied text\n"


def test_failing_run_names_the_command_and_tags_nothing(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN echo before; exit 3\nCMD true\n"})
    r = build(bd, d, "-t", "b-fail")
    assert r.returncode == 3
    assert "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3" in r.stderr
    assert "before\n" in r.stdout
    assert bd.cove("image", "inspect", "b-fail").returncode != 0
    # the failed container is kept for inspection, unless --force-rm
    kept = bd.cove("ps", "-aq").stdout.split()
    assert len(kept) == 1
    bd.cove("rm", "-f", *kept, check=True)
    r = build(bd, d, "-t", "b-fail", "--force-rm")
    assert r.returncode == 3 and bd.cove("ps", "-aq").stdout.strip() == ""


def test_unknown_instruction_is_a_parse_error(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nFROB x\n"})
    r = build(bd, d)
    assert r.returncode == 1
    assert "Dockerfile parse error line 2: unknown instruction: FROB" in r.stderr
