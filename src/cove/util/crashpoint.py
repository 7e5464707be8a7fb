"""A test hook: the daemon kills itself (SIGKILL, as ``kill -9`` would) at a named point of
an operation, so tests can check that every half-done create, start, stop, exit and remove
is recovered at the next start.

``COVE_TEST_CRASH_AT=<point>`` in coved's environment names the point; it is read once, at
import, so an unset variable costs one string comparison per point reached.  Points are
named ``<operation>:<step done>``, e.g. ``start:created`` (the runtime has created the
container, the record does not say so yet); ``POINTS`` lists them all.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "create:dir",  # the container's directory exists, no record yet
    "create:snapshot",  # its writable layer is prepared
    "create:volumes",  # its volumes are made (an anonymous one among them)
    "create:saved",  # the record is written, the reply not sent
    "start:net",  # addresses and host ports taken (in memory)
    "start:mounted",  # the root filesystem is mounted
    "start:launching",  # conmon is being launched (a SIGTERM's cancel lands in the launch)
    "start:monitor",  # conmon runs (its pid file written), the runtime's create may not be done
    "start:created",  # the runtime (and its monitor) hold the container, the record does not
    "start:attached",  # the interfaces are in the container's namespace
    "start:started",  # the process runs, the record still says "created"
    "exit:released",  # an exit half recorded: network released, record not written
    "stop:signalled",  # the stop signal is sent
    "rm:marked",  # the record says the removal has begun
    "rm:runtime",  # the runtime forgot the container
    "rm:snapshot",  # the writable layer is gone, the record not yet
)

_AT = os.environ.get("COVE_TEST_CRASH_AT", "")
# TERM: a SIGTERM instead (the shutdown then cancels the operation at its next await)
_SIGNAL = signal.SIGTERM if os.environ.get("COVE_TEST_CRASH_SIGNAL") == "TERM" else signal.SIGKILL


def reached(point: str) -> None:
    """Die (or be asked to stop: ``COVE_TEST_CRASH_SIGNAL=TERM``) here if the test asked for
    ``point``."""
    if _AT and point == _AT:
        os.kill(os.getpid(), _SIGNAL)
