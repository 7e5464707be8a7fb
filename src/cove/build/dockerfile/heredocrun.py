"""The command a RUN with heredocs runs, by BuildKit's rules.  Pure.

- The whole command is one heredoc (``RUN <<EOF``): its body is the script.  A body that
  starts with ``#!`` is written to a file (``/dev/pipes/NAME``, mode 0755) and that file is
  run, so its interpreter line chooses the language; any other body is handed to the
  shell as the command string (``<<-`` tabs stripped).  Quoting the name changes nothing
  here: the shell does any expansion when it runs the script.
- Otherwise (``RUN cat <<EOF > /f``, several heredocs) the line and the bodies are put back
  together, each body followed by its terminator, and the shell reads the heredocs itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from cove.build.dockerfile.heredoc import opener
from cove.build.dockerfile.parser import Node

PIPES = "/dev/pipes"


@dataclass
class RunCommand:
    argv: list[str]
    scripts: dict[str, str] = field(default_factory=dict)  # path in the container -> body


def run_command(node: Node, shell: list[str]) -> RunCommand:
    if node.json:
        return RunCommand(list(node.args))
    script = node.args[0] if node.args else ""
    if not node.heredocs:
        return RunCommand([*shell, script])
    op = opener(script.strip())
    if op is not None and len(node.heredocs) >= 1 and node.heredocs[0].name == op.name:
        body = node.heredocs[0].text()
        if body.startswith("#!"):
            path = posixpath.join(PIPES, op.name)
            return RunCommand([*shell, path], {path: body})
        return RunCommand([*shell, body])
    full = script
    for h in node.heredocs:
        full += "\n" + h.content + h.name
    return RunCommand([*shell, full])
