"""What the client raises: the daemon's answer was an error, or there is no daemon."""

from __future__ import annotations

from cove.errors import CoveError


class APIError(CoveError):
    """A non-2xx answer; ``message`` is the daemon's ``{"message": ...}`` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def is_not_found(self) -> bool:
        return self.status == 404


class DaemonUnreachable(CoveError):
    """Nothing answers on the socket (and autostart was not possible or did not help)."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Cannot connect to the cove daemon at {host}. Is the cove daemon running?"
        )
        self.host = host


class DaemonPermissionDenied(DaemonUnreachable):
    """The socket exists but this user may not open it: the docker CLI's one line."""

    def __init__(self, host: str, path: str) -> None:
        CoveError.__init__(
            self,
            "permission denied while trying to connect to the cove daemon socket at "
            f"{host}: dial unix {path}: connect: permission denied",
        )
        self.host = host
