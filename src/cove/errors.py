"""Error categories shared by every layer.

Code below the API raises one of these; ``cove.api.errors`` maps each category to an HTTP
status in one table, and the CLI maps HTTP statuses back.  The message is what a Docker user
would read, so it follows dockerd's wording ("No such container: x").  No HTTP here.
"""

from __future__ import annotations


class CoveError(Exception):
    """Base of every error cove reports to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(CoveError):
    """The named object does not exist (HTTP 404)."""


class InvalidArgument(CoveError):
    """The request is malformed or names something impossible (HTTP 400)."""


class Conflict(CoveError):
    """The request collides with the current state: a name in use, a running container (409)."""


class NotModified(CoveError):
    """Nothing to do: the container is already started or stopped (HTTP 304)."""


class Forbidden(CoveError):
    """The operation is refused on principle (HTTP 403)."""


class Unauthorized(CoveError):
    """A registry refused our credentials (HTTP 401)."""


class Unavailable(CoveError):
    """A dependency (runtime, registry, cluster store) cannot be reached (HTTP 503)."""


class SystemError_(CoveError):
    """Something failed on the host: the runtime, a mount, a syscall (HTTP 500)."""


class NotImplementedYet(CoveError):
    """A documented Docker feature that cove does not provide yet (HTTP 501)."""


def no_such_container(ref: str) -> NotFound:
    return NotFound(f"No such container: {ref}")


def no_such_image(ref: str) -> NotFound:
    return NotFound(f"No such image: {ref}")


def no_such_exec(ref: str) -> NotFound:
    return NotFound(f"No such exec instance: {ref}")
