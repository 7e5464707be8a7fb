"""Command-line flags parsed the way docker's (cobra/pflag) are.

``--name=value`` and ``--name value``; booleans take ``--rm`` or ``--rm=false``; short flags
combine (``-itd``) and take their value glued (``-eK=V``, ``-e=K=V``) or as the next word;
``--`` ends flags.  With ``interspersed=False`` (run, create, exec) parsing stops at the first
positional so the container's own flags are left alone.  Error texts are pflag's.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

BOOL, STRING, INT, LIST = "bool", "string", "int", "list"
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class FlagError(Exception):
    """A flag cannot be parsed; docker prints it with the usage line and exits 125."""


class HelpRequested(Exception):
    def __init__(self, deprecated_h: bool = False) -> None:
        super().__init__("help")
        self.deprecated_h = deprecated_h


class Flag:
    __slots__ = ("check", "default", "help", "hidden", "kind", "long", "metavar", "short")

    def __init__(
        self,
        long: str,
        short: str | None = None,
        kind: str = BOOL,
        help: str = "",
        *,
        metavar: str | None = None,
        default: object = None,
        hidden: bool = False,
        check: Callable[[str], object] | None = None,
    ) -> None:
        self.long = long
        self.short = short
        self.kind = kind
        self.help = help
        self.metavar = metavar if metavar is not None else ("" if kind == BOOL else kind)
        self.default = default
        self.hidden = hidden
        self.check = check  # raises ValueError(reason) for a bad value

    @property
    def label(self) -> str:
        return f"-{self.short}, --{self.long}" if self.short else f"--{self.long}"

    def initial(self) -> object:
        if self.kind == LIST:
            return list(self.default) if isinstance(self.default, list | tuple) else []
        if self.default is not None:
            return self.default
        return {BOOL: False, INT: 0, STRING: ""}.get(self.kind, "")


class Options:
    """Parsed values by long name, and which flags the user actually gave."""

    def __init__(self, flags: Iterable[Flag]) -> None:
        self.data: dict[str, object] = {f.long: f.initial() for f in flags}
        self.changed: set[str] = set()

    def on(self, name: str) -> bool:
        return bool(self.data[name])

    def text(self, name: str) -> str:
        value = self.data[name]
        return value if isinstance(value, str) else ""

    def number(self, name: str) -> int:
        value = self.data[name]
        return value if isinstance(value, int) else 0

    def many(self, name: str) -> list[str]:
        value = self.data[name]
        return value if isinstance(value, list) else []

    def given(self, name: str) -> bool:
        return name in self.changed


def _parse_bool(flag: Flag, text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FlagError(
        f'invalid argument "{text}" for "{flag.label}" flag: '
        f'strconv.ParseBool: parsing "{text}": invalid syntax'
    )


def _store(opts: Options, flag: Flag, text: str) -> None:
    if flag.check is not None:
        try:
            flag.check(text)
        except ValueError as e:
            raise FlagError(f'invalid argument "{text}" for "{flag.label}" flag: {e}') from e
    if flag.kind == INT:
        try:
            value: object = int(text, 0)
        except ValueError:
            raise FlagError(
                f'invalid argument "{text}" for "{flag.label}" flag: '
                f'strconv.ParseInt: parsing "{text}": invalid syntax'
            ) from None
    elif flag.kind == LIST:
        value = [*opts.many(flag.long), text]
    else:
        value = text
    opts.data[flag.long] = value
    opts.changed.add(flag.long)


def parse(
    flags: Sequence[Flag], args: Sequence[str], *, interspersed: bool = True
) -> tuple[Options, list[str]]:
    """Split ``args`` into options and positionals, raising ``FlagError``/``HelpRequested``."""
    by_long = {f.long: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    opts = Options(flags)
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positionals += args[i:]
            break
        if arg.startswith("--"):
            name, eq, text = arg[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                if name == "help":
                    raise HelpRequested()
                raise FlagError(f"unknown flag: --{name}")
            if flag.kind == BOOL:
                opts.data[name] = _parse_bool(flag, text) if eq else True
                opts.changed.add(name)
            elif eq:
                _store(opts, flag, text)
            elif i < len(args):
                _store(opts, flag, args[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        elif arg.startswith("-") and len(arg) > 1:
            rest = arg[1:]
            while rest:
                c = rest[0]
                flag = by_short.get(c)
                if flag is None:
                    if c == "h":
                        raise HelpRequested(deprecated_h=True)
                    raise FlagError(f"unknown shorthand flag: '{c}' in -{rest}")
                if flag.kind == BOOL:
                    if len(rest) > 2 and rest[1] == "=":
                        opts.data[flag.long] = _parse_bool(flag, rest[2:])
                        rest = ""
                    else:
                        opts.data[flag.long] = True
                        rest = rest[1:]
                    opts.changed.add(flag.long)
                    continue
                if len(rest) > 2 and rest[1] == "=":
                    _store(opts, flag, rest[2:])
                elif len(rest) > 1:
                    _store(opts, flag, rest[1:])
                elif i < len(args):
                    _store(opts, flag, args[i])
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: '{c}' in -{c}")
                rest = ""
        else:
            positionals.append(arg)
            if not interspersed:
                positionals += args[i:]
                break
    return opts, positionals


def usage_lines(flags: Sequence[Flag]) -> list[str]:
    """pflag's option table: names and type in one column, help text beside it."""
    rows = []
    for f in flags:
        if f.hidden:
            continue
        left = f"  -{f.short}, --{f.long}" if f.short else f"      --{f.long}"
        if f.metavar:
            left += " " + f.metavar
        text = f.help
        if f.default not in (None, "", False, 0, [], ()):
            shown = f'"{f.default}"' if f.kind == STRING else str(f.default)
            if f.default is True:
                shown = "true"
            text += f" (default {shown})"
        rows.append((left, text))
    width = max((len(left) for left, _ in rows), default=0)
    return [f"{left.ljust(width)}   {text}".rstrip() for left, text in rows]
