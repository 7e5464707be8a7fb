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
