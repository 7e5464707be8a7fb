"""``cove commit``: POST /commit?container=..&repo=..&tag=.. (no body: the container's config)."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "commit",
    "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    "Create a new image from a container's changes",
    [
        Flag("author", "a", STRING, 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
        Flag("change", "c", LIST, "Apply Dockerfile instruction to the created image"),
        Flag("message", "m", STRING, "Commit message"),
        Flag("pause", "p", BOOL, "Pause container during commit", default=True),
    ],
    min_args=1,
    max_args=2,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    query: dict[str, str | bool | list[str] | None] = {"container": args[0]}
    if len(args) > 1:
        from cove.errors import InvalidArgument
        from cove.oci.reference import parse

        try:
            ref = parse(args[1])
        except InvalidArgument as e:
            raise StatusError(1, f"invalid reference format: {e}") from None
        if ref.digest:
            raise StatusError(1, "refusing to create a tag with a digest reference")
        query["repo"] = ref.familiar_repository
        query["tag"] = ref.tag
    query.update(
        {
            "comment": opts.text("message") or None,
            "author": opts.text("author") or None,
            "changes": opts.many("change") or None,
            "pause": opts.on("pause"),
        }
    )
    result = ctx.client.post("/commit", query)
    ctx.out(str((result or {}).get("Id", "")))
    return 0
