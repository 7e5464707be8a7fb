"""``cove tag``: POST /images/{source}/tag?repo=..&tag=.."""

from __future__ import annotations

from cove.cli.command import Command, Context, StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.cli.flags import Options

COMMAND = Command(
    "tag",
    "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
    "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    min_args=2,
    max_args=2,
)


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.errors import InvalidArgument
    from cove.oci.reference import parse

    source, target = args
    try:
        ref = parse(target)
    except InvalidArgument as e:
        raise StatusError(
            1, f'Error parsing reference: "{target}" is not a valid repository/tag: {e}'
        ) from None
    if ref.digest:
        raise StatusError(1, "refusing to create a tag with a digest reference")
    ctx.client.post(f"/images/{source}/tag", {"repo": ref.familiar_repository, "tag": ref.tag})
    return 0
