"""Registry failures in Docker's words, as cove error categories.

The registry's JSON error body (``{"errors": [{"code", "message", "detail"}]}``) becomes
``<code lowercase with spaces>: <message>`` as distribution's errcode formats it, and the
context Docker adds ("manifest for x:y not found: ...") is added by the caller.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

from cove.errors import CoveError, Forbidden, InvalidArgument, NotFound, Unauthorized, Unavailable


class RegistryError(CoveError):
    """An answer from a registry, with the first error code it gave (or "")."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryNotFound(RegistryError, NotFound):
    pass


class RegistryInvalid(RegistryError, InvalidArgument):
    pass


class RegistryUnauthorized(RegistryError, Unauthorized):
    pass


class RegistryDenied(RegistryError, Forbidden):
    pass


class RegistryUnavailable(RegistryError, Unavailable):
    pass


_KIND: dict[str, type[RegistryError]] = {
    "MANIFEST_UNKNOWN": RegistryNotFound,
    "BLOB_UNKNOWN": RegistryNotFound,
    "NAME_UNKNOWN": RegistryNotFound,
    "TAG_INVALID": RegistryInvalid,
    "MANIFEST_INVALID": RegistryInvalid,
    "DIGEST_INVALID": RegistryInvalid,
    "UNAUTHORIZED": RegistryUnauthorized,
    "DENIED": RegistryDenied,
    "UNSUPPORTED": RegistryInvalid,
}
_BY_STATUS: dict[int, type[RegistryError]] = {
    401: RegistryUnauthorized,
    403: RegistryDenied,
    404: RegistryNotFound,
}


def describe(status: int, body: bytes) -> tuple[str, str]:
    """(code, "code text: message") of an error answer."""
    try:
        data: Any = json.loads(body) if body else {}
    except ValueError:
        data = {}
    errs = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errs, list) and errs and isinstance(errs[0], dict):
        code = str(errs[0].get("code") or "UNKNOWN")
        msg = str(errs[0].get("message") or "")
        text = code.lower().replace("_", " ")
        return code, f"{text}: {msg}" if msg else text
    if status == 401:
        return "UNAUTHORIZED", "unauthorized: authentication required"
    if status == 404:
        return "NOT_FOUND", "not found"
    return "", f"received unexpected HTTP status: {status}"


def categorise(status: int, code: str, message: str) -> RegistryError:
    cls = _KIND.get(code) or _BY_STATUS.get(status, RegistryUnavailable)
    return cls(message, status, code)


def network_error(method: str, url: str, host: str, exc: BaseException) -> Unavailable:
    """Go's ``net/http`` wording, which Docker passes through: ``Get "url": dial tcp ...``."""
    verb = method.capitalize()
    if isinstance(exc, ConnectionRefusedError):
        why = f"dial tcp {host}: connect: connection refused"
    elif isinstance(exc, socket.gaierror):
        why = f"dial tcp: lookup {host.rsplit(':', 1)[0]}: no such host"
    elif isinstance(exc, ssl.SSLError | ssl.CertificateError):
        why = f"tls: {exc}"
    elif isinstance(exc, TimeoutError | socket.timeout):
        why = f"dial tcp {host}: i/o timeout"
    else:
        why = str(exc) or type(exc).__name__
    return Unavailable(f'{verb} "{url}": {why}')
