"""Interactive plumbing shared by run, start -a, attach and exec: raw terminal mode, resizing
on SIGWINCH, forwarding signals to the container, and running a hijacked stream."""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; `signal` costs 5 ms (enum)
import os
import sys

from cove.cli.command import StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from cove.client.api import Client
    from cove.client.http import Response

FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def check_tty(tty: bool, stdin: bool) -> None:
    if tty and stdin and not os.isatty(0):
        raise StatusError(1, "the input device is not a TTY")


def open_attach(
    client: Client,
    cid: str,
    stdin: bool,
    keys_spec: str,
    stdout: bool = True,
    stderr: bool = True,
) -> Response:
    """The hijacked attach stream, opened before start so no output is lost; a custom
    detach sequence is sent along, since coved watches for it too."""
    query: dict[str, bool | str] = {
        "stream": True,
        "stdin": stdin,
        "stdout": stdout,
        "stderr": stderr,
    }
    if keys_spec:
        query["detachKeys"] = keys_spec
    return client.hijack(f"/containers/{cid}/attach", query)


def detach_keys(spec: str) -> bytes:
    from cove.client.stream import DEFAULT_DETACH_KEYS, parse_detach_keys

    if not spec:
        return DEFAULT_DETACH_KEYS
    try:
        return parse_detach_keys(spec)
    except ValueError as e:
        raise StatusError(1, str(e)) from None


def raw_terminal(fd: int) -> AbstractContextManager[None]:
    """Put ``fd`` in raw mode for the duration (a no-op when it is not a terminal)."""
    import contextlib

    @contextlib.contextmanager
    def manage() -> Iterator[None]:
        if not os.isatty(fd):
            yield
            return
        import termios
        import tty

        saved = termios.tcgetattr(fd)
        tty.setraw(fd, termios.TCSANOW)
        try:
            yield
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    return manage()


def terminal_size() -> tuple[int, int] | None:
    for fd in (1, 0):
        if os.isatty(fd):
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                continue
            return size.lines, size.columns
    return None


def resize(client: Client, path: str) -> None:
    """POST ``path`` (…/resize) with our terminal size; failures are ignored like docker's."""
    size = terminal_size()
    if size is None or size == (0, 0):
        return
    try:
        client.post(path, {"h": size[0], "w": size[1]})
    except Exception:
        pass


def follow_resizes(client: Client, path: str) -> None:
    """Send the size now and again on every SIGWINCH."""
    resize(client, path)
    _signal.signal(_signal.SIGWINCH, lambda _s, _f: resize(client, path))


def proxy_signals(client: Client, container: str) -> None:
    """Forward the usual signals to the container instead of dying from them."""

    def forward(signum: int, _frame: object) -> None:
        try:
            client.post(f"/containers/{container}/kill", {"signal": str(signum)})
        except Exception:
            pass

    for name in FORWARDED:
        _signal.signal(getattr(_signal, name), forward)


def stream(resp: Response, *, tty: bool, stdin: bool, keys: bytes) -> bool:
    """Pump a hijacked stream to completion; True when the user detached."""
    from cove.client.stream import Pump

    sys.stdout.flush()
    sys.stderr.flush()
    pump = Pump(resp, tty=tty, stdin_fd=0 if stdin else None,
                detach_keys=keys if tty and stdin else None)  # fmt: skip
    try:
        if tty and stdin:
            with raw_terminal(0):
                pump.run()
        else:
            pump.run()
    finally:
        resp.close()
    for err in pump.errors:
        sys.stderr.write(f"error from daemon in stream: {err}\n")
    return pump.detached
