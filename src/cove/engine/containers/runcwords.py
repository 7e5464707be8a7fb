"""crun's words for a process that could not be executed, restated as runc's.

The docker CLI reads runc's wording to choose ``run``'s exit code (127: not found, 126: cannot
be invoked), and users compare messages with dockerd's: a name without ``/`` is looked up in
``$PATH`` ("executable file not found in $PATH"), a path is stat'ed ("stat /x: no such file or
directory").  crun says "executable file `X` not found in $PATH" for both.
"""

from __future__ import annotations

import re

_NOT_FOUND = re.compile(r"executable file `(.+?)` not found in \$PATH")


def not_found_reason(msg: str) -> str | None:
    """runc's reason for crun's "not found" message, or None when ``msg`` is another error."""
    m = _NOT_FOUND.search(msg)
    if m is None:
        return None
    name = m.group(1)
    if "/" in name:
        return f'exec: "{name}": stat {name}: no such file or directory'
    return f'exec: "{name}": executable file not found in $PATH'
