"""What every verb shares: its declaration, the invocation context, and CLI errors.

A verb module defines ``COMMAND`` (name, usage, flags, argument count) and
``run(ctx, opts, args) -> int``.  ``cove.cli.main`` imports only the verb it needs.
"""

from __future__ import annotations

import sys

from cove.cli.flags import Flag, usage_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from cove.client.api import Client

PROG = "cove"


class StatusError(Exception):
    """Leave with ``code``, printing ``message`` (if any) on stderr first."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ArgsError(Exception):
    """Wrong number of positionals: docker's "requires at least 1 argument" (exit 1)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint  # "Run" or "See": docker 28 words the two cases differently


class Command:
    __slots__ = (
        "args",
        "flags",
        "interspersed",
        "max_args",
        "min_args",
        "name",
        "summary",
        "usage",
    )

    def __init__(
        self,
        name: str,
        usage: str,
        summary: str,
        flags: Sequence[Flag] = (),
        *,
        min_args: int = 0,
        max_args: int | None = None,
        interspersed: bool = True,
    ) -> None:
        self.name = name
        self.usage = usage  # what follows the command path: "[OPTIONS] CONTAINER"
        self.summary = summary
        self.flags = tuple(flags)
        self.min_args = min_args
        self.max_args = max_args
        self.interspersed = interspersed

    def check_args(self, path: str, args: Sequence[str]) -> None:
        lo, hi, n = self.min_args, self.max_args, len(args)

        def plural(k: int) -> str:
            return f"{k} argument" + ("" if k == 1 else "s")

        if hi == 0 and n > 0:
            raise ArgsError(f"'{path}' accepts no arguments", "Run")
        if lo == hi and n != lo:
            raise ArgsError(f"'{path}' requires {plural(lo)}", "Run")
        if n < lo:
            raise ArgsError(f"'{path}' requires at least {plural(lo)}", "See")
        if hi is not None and n > hi:
            raise ArgsError(f"'{path}' requires at most {plural(hi)}", "Run")

    def help_text(self, path: str, aliases: Sequence[str] = ()) -> str:
        parts = [f"Usage:  {path} {self.usage}".rstrip(), "", self.summary, ""]
        if aliases:
            parts += ["Aliases:", "  " + ", ".join(aliases), ""]
        lines = usage_lines(self.flags)
        if lines:
            parts += ["Options:", *lines, ""]
        return "\n".join(parts)


class Context:
    """One invocation: the command path as typed (``cove container ls``) and the client."""

    def __init__(self, path: str, host: str | None = None, group: str = "") -> None:
        self.path = path
        self.host = host
        self.group = group  # "container" or "image" when invoked through a management command
        self._client: Client | None = None
        self.tls: dict[str, object] = {}  # the global TLS flags given (for tcp:// hosts)

    @property
    def client(self) -> Client:
        if self._client is None:
            from cove.client.api import Client

            self._client = Client(self.host, tls=self.tls)
        return self._client

    @staticmethod
    def out(text: str) -> None:
        sys.stdout.write(text + "\n")

    @staticmethod
    def err(text: str) -> None:
        sys.stdout.flush()
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def daemon_error(message: str) -> str:
    return f"Error response from daemon: {message}"
