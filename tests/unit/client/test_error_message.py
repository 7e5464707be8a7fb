"""The daemon's error message as the docker CLI shows it: trimmed (dockerd's own messages
sometimes end in a space, e.g. "operation is not permitted on predefined host network ")."""

from __future__ import annotations

from cove.client.api import error_message


def test_message_is_trimmed() -> None:
    body = b'{"message":"operation is not permitted on predefined host network "}'
    assert error_message(403, "Forbidden", body) == (
        "operation is not permitted on predefined host network"
    )
    assert error_message(500, "Internal Server Error", b"") == "500 Internal Server Error"
