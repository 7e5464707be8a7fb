"""``docker attach``: a container's live streams, after its log's replay when asked, behind
the detach keys when stdin is attached (the sessions are detach.py's)."""

from __future__ import annotations

from cove.engine.containers.detach import DEFAULT_KEYS, DetachSession, ReplaySession, parse_keys
from cove.engine.containers.steps import ContainerSteps
from cove.engine.logs import log_path_of, read_log
from cove.engine.state import Status
from cove.util.streams import STDERR, STDOUT, AttachSession


async def container_attach(
    eng: ContainerSteps,
    ref: str,
    *,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    logs: bool,
    stream: bool,
    detach_keys: str = "",
) -> AttachSession:
    """``docker attach``: the live streams (lifecycle's ``attach_live``), after the log's
    replay when ``logs``, behind the detach keys when stdin is attached."""
    keys = parse_keys(detach_keys or DEFAULT_KEYS)
    c = eng.find(ref)
    live: AttachSession | None = None
    if stream or not logs:
        live = await eng.attach_live(ref, stdin=stdin)
    if logs:
        wanted = ({STDOUT} if stdout else set()) | ({STDERR} if stderr else set())
        history = read_log(
            log_path_of(eng.paths, c.id, c.data), follow=False, streams=wanted,
            since=0.0, until=0.0, timestamps=False, tail="all",
            running=lambda: c.status in (Status.RUNNING, Status.PAUSED),
        )  # fmt: skip
        session: AttachSession = ReplaySession(history, live, c.tty)
    else:
        assert live is not None
        session = live
    if not stdin:
        return session
    return DetachSession(session, keys, lambda: eng.emit(c, "detach"))
