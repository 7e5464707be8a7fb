"""The one table that turns ``cove.errors`` categories into HTTP statuses.

Bodies follow dockerd: ``{"message": "..."}`` as JSON; 304 has no body.  Exceptions that are
not a category are bugs: they become 500 with their text, and their traceback is logged.
"""

from __future__ import annotations

import errno
import logging

from cove import errors
from cove.api.http import Reply, json_reply

log = logging.getLogger("cove.api")

STATUS_BY_CATEGORY: dict[type[errors.CoveError], int] = {
    errors.NotFound: 404,
    errors.InvalidArgument: 400,
    errors.Conflict: 409,
    errors.NotModified: 304,
    errors.Forbidden: 403,
    errors.Unauthorized: 401,
    errors.Unavailable: 503,
    errors.SystemError_: 500,
    errors.NotImplementedYet: 501,
}


# OS errors that only input can cause: a name longer than the file system takes is the
# request's fault (dockerd answers 500 with the errno's text; the text is kept, the status
# says whose fault it is).
STATUS_BY_ERRNO: dict[int, int] = {errno.ENAMETOOLONG: 400}


def _nul_in_name(exc: BaseException) -> bool:
    """Python's refusal of a NUL inside a path or an argument: only input carries one (Go's
    syscalls refuse it as EINVAL, "invalid argument")."""
    return isinstance(exc, ValueError) and "null byte" in str(exc)


def status_for(exc: BaseException) -> int:
    if isinstance(exc, OSError) and exc.errno in STATUS_BY_ERRNO:
        return STATUS_BY_ERRNO[exc.errno]
    if _nul_in_name(exc):
        return 400
    for cls in type(exc).__mro__:
        status = STATUS_BY_CATEGORY.get(cls)
        if status is not None:
            return status
    return 500


def message_for(exc: BaseException) -> str:
    if _nul_in_name(exc):
        return "invalid argument: a name holds a NUL byte"
    if isinstance(exc, OSError) and exc.strerror:  # Go's shape: "<path>: <errno text>"
        text = exc.strerror[:1].lower() + exc.strerror[1:]
        return f"{exc.filename}: {text}" if exc.filename else text
    return str(exc) or type(exc).__name__


def error_reply(exc: BaseException, method: str = "", path: str = "") -> Reply:
    status = status_for(exc)
    if status < 500 and not isinstance(exc, errors.CoveError):
        log.debug("Handler for %s %s: bad input: %s", method, path, exc)
    elif not isinstance(exc, errors.CoveError):
        log.error("Handler for %s %s failed", method, path, exc_info=exc)
    elif status >= 500:
        log.error("Handler for %s %s returned error: %s", method, path, exc)
    if status == 304:
        return Reply(304)
    return json_reply({"message": message_for(exc)}, status)


def error_line(exc: BaseException) -> dict[str, object]:
    """An error inside a JSON progress stream, after the 200 went out."""
    if not isinstance(exc, errors.CoveError):
        log.error("streaming handler failed", exc_info=exc)
    message = message_for(exc)
    return {"errorDetail": {"message": message}, "error": message}
