"""Verbs that act on several objects (stop a b, rm a b): print each success as it happens,
then every error, and exit 1 if anything failed, as docker does."""

from __future__ import annotations

from cove.cli.command import Context, StatusError, daemon_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


def each(
    names: Iterable[str],
    action: Callable[[str], object],
    *,
    echo: bool = True,
    ignore_not_found: bool = False,
    summary: str = "",
) -> int:
    """Run ``action`` per name; ``summary`` (e.g. "failed to start containers") is docker's
    closing ``Error: ...: a, b`` line when it adds one."""
    from cove.client.errors import APIError

    errors: list[str] = []
    failed: list[str] = []
    for name in names:
        try:
            action(name)
        except APIError as e:
            errors.append(daemon_error(e.message))
            if not (ignore_not_found and e.status == 404):
                failed.append(name)
            continue
        if echo:
            Context.out(name)
    if summary and failed:
        errors.append(f"Error: {summary}: {', '.join(failed)}")
    if errors:
        raise StatusError(1 if failed else 0, "\n".join(errors))
    return 0
