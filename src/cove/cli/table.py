"""Go's ``text/tabwriter`` as docker configures it: cells padded to the widest plus 3, at least
``minwidth`` (10 for docker's tables, 20 for ``top``); the last cell of a row is not padded."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def render(rows: Sequence[Sequence[str]], minwidth: int = 10, padding: int = 3) -> str:
    """Lay out ``rows`` (header first) and return the text, each line ending in a newline."""
    if not rows:
        return ""
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            w = len(cell) + padding
            if i == len(widths):
                widths.append(max(minwidth, w))
            elif w > widths[i]:
                widths[i] = w
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        if row:
            cells.append(row[-1])
        out.append("".join(cells) + "\n")
    return "".join(out)


def render_template_rows(lines: Sequence[str], minwidth: int = 10, padding: int = 3) -> str:
    """A ``table`` format's rendered lines: split on tabs, then laid out."""
    return render([line.split("\t") for line in lines], minwidth, padding)
