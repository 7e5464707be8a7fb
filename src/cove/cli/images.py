"""``cove images``: list images (GET /images/json), one row per repository tag."""

from __future__ import annotations

import sys

from cove.cli.command import Command, Context, StatusError
from cove.cli.flags import BOOL, LIST, STRING, Flag
from cove.cli.units import ago, go_time, human_size, truncate_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.cli.flags import Options

COMMAND = Command(
    "images",
    "[OPTIONS] [REPOSITORY[:TAG]]",
    "List images",
    [
        Flag("all", "a", BOOL, "Show all images (default hides intermediate images)"),
        Flag("digests", None, BOOL, "Show digests"),
        Flag("filter", "f", LIST, "Filter output based on conditions provided", metavar="filter"),
        Flag("format", None, STRING, "Format output using a custom template"),
        Flag("no-trunc", None, BOOL, "Don't truncate output"),
        Flag("quiet", "q", BOOL, "Only show image IDs"),
    ],
    max_args=1,
)

DEFAULT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
DIGESTS = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
    "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
}  # fmt: skip
NONE = "<none>"


def split_tag(ref: str) -> tuple[str, str]:
    repo, colon, tag = ref.rpartition(":")
    if not colon or "/" in tag:
        return ref, NONE
    return repo, tag


def name_rows(image: dict[str, Any], digests: bool) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) rows for one image, as docker's image formatter makes them."""
    tags: dict[str, list[str]] = {}
    digs: dict[str, list[str]] = {}
    for ref in image.get("RepoTags") or []:
        if not ref.startswith(NONE):
            repo, tag = split_tag(ref)
            tags.setdefault(repo, []).append(tag)
    for ref in image.get("RepoDigests") or []:
        if not ref.startswith(NONE) and "@" in ref:
            repo, _, dig = ref.partition("@")
            digs.setdefault(repo, []).append(dig)
    rows = []
    for repo, repo_tags in tags.items():
        repo_digs = digs.pop(repo, [])  # a tagged repository's digests are not rows of their own
        if not digests:
            repo_digs = []
        for tag in repo_tags:
            rows += [(repo, tag, d) for d in repo_digs] or [(repo, tag, NONE)]
    for repo, repo_digs in digs.items():
        rows += [(repo, NONE, d) for d in repo_digs] if digests else [(repo, NONE, NONE)]
    return rows or [(NONE, NONE, NONE)]


def _n(value: Any) -> str:
    return "N/A" if value is None or value == -1 else str(value)


def rows_for(images: list[dict[str, Any]], digests: bool, trunc: bool) -> list[dict[str, Any]]:
    import time

    now = time.time()
    out = []
    for image in images:
        ident = truncate_id(image["Id"]) if trunc else image["Id"]
        size = image.get("Size") or 0
        shared = image.get("SharedSize", -1)
        for repo, tag, digest in name_rows(image, digests):
            out.append({
                "ID": ident, "Repository": repo, "Tag": tag, "Digest": digest,
                "CreatedSince": ago(image.get("Created", 0), now),
                "CreatedAt": go_time(image.get("Created", 0)), "Size": human_size(size),
                "Containers": _n(image.get("Containers")),
                "VirtualSize": human_size(image.get("VirtualSize", size), 4),
                "SharedSize": "N/A" if shared == -1 else human_size(shared),
                "UniqueSize": "N/A" if shared == -1 else human_size(size - shared),
            })  # fmt: skip
    return out


def run(ctx: Context, opts: Options, args: list[str]) -> int:
    from cove.cli.ps import parse_filters

    specs = opts.many("filter") + ([f"reference={args[0]}"] if args else [])
    try:
        filters = parse_filters(specs)
    except ValueError as e:
        raise StatusError(125, str(e)) from None
    query = {"all": opts.on("all"), "filters": filters, "digests": opts.on("digests")}
    images = ctx.client.get("/images/json", query) or []
    trunc = not opts.on("no-trunc")
    rows = rows_for(images, opts.on("digests"), trunc)
    if opts.on("quiet"):
        sys.stdout.write("".join(r["ID"] + "\n" for r in rows))
        return 0
    from cove.cli.formatter import FormatError, render

    try:
        text = render(
            opts.text("format"), DIGESTS if opts.on("digests") else DEFAULT, rows, HEADERS
        )
    except FormatError as e:
        raise StatusError(1, str(e)) from None
    sys.stdout.write(text)
    return 0
