"""``POST /containers/{id}/wait`` sent before the container starts, read after it ends.

Docker registers the wait before starting so a fast container's exit cannot be missed; the
daemon answers the status line at once and the body at exit.  We wait for that status line
(briefly: a daemon that only answers at exit must not hang ``run``) before starting.
"""

from __future__ import annotations

import select

from cove.client.errors import APIError
from cove.client.http import read_response, send_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.client.api import Client
    from cove.client.http import Response

HEAD_WAIT = 2.0


class Waiter:
    def __init__(self, client: Client, container: str, condition: str) -> None:
        self.sock = client.connect()
        self.resp: Response | None = None
        target = client.url(f"/containers/{container}/wait", {"condition": condition})
        send_request(self.sock, "POST", target, [], None)
        ready, _, _ = select.select([self.sock], [], [], HEAD_WAIT)
        if ready:
            self.resp = read_response(self.sock)

    def result(self, timeout: float | None = None) -> tuple[int, str]:
        """(exit status, error text); status 125 and the error when the wait failed."""
        from cove.client.api import error_message
        from cove.client.jsonlite import loads

        try:
            self.sock.settimeout(timeout)
            resp = self.resp or read_response(self.sock)
            body = resp.read()
            if resp.status >= 400:
                raise APIError(resp.status, error_message(resp.status, resp.reason, body))
            answer = loads(body) if body.strip() else {}
        except (OSError, ValueError, APIError) as e:
            return 125, f"error waiting for container: {e or 'timeout'}"
        finally:
            self.sock.close()
        err = (answer.get("Error") or {}).get("Message", "")
        if err:
            return 125, f"error waiting for container: {err}"
        return int(answer.get("StatusCode", 0)), ""

    def close(self) -> None:
        self.sock.close()
