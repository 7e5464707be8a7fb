"""An operation one object offers by handing it to an object it holds: ``Forward``.

A facade over several services (the engine) would otherwise repeat each operation's whole
signature in a method whose body only calls the service.  ``Forward(attr, Service.method)``
is that method, typed from the service's own signature (mypy checks a facade built of
these against its Protocol as it checks written-out methods), and reads as a table of
which held object owns which operation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, Generic, ParamSpec, TypeVar, overload

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


class Forward(Generic[S, P, R]):
    """``obj.name(...)`` is ``method(obj.<attr>, ...)``: ``attr`` names an attribute the
    instance sets (in its ``__init__``), ``method`` is a function of that object's class
    (or any function whose first parameter takes it)."""

    def __init__(self, attr: str, method: Callable[Concatenate[S, P], R]) -> None:
        self.attr = attr
        self.method = method

    @overload
    def __get__(self, obj: None, owner: type) -> Forward[S, P, R]: ...

    @overload
    def __get__(self, obj: object, owner: type) -> Callable[P, R]: ...

    def __get__(self, obj: object | None, owner: type) -> Forward[S, P, R] | Callable[P, R]:
        if obj is None:
            return self
        # a missing attribute is the holder's bug: a KeyError, not an AttributeError that
        # hasattr() would take for "no such operation"
        return functools.partial(self.method, vars(obj)[self.attr])
