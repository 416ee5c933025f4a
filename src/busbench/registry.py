"""Named choices that code registers and settings pick: training losses, augmentation presets.

Each name is written once, where its implementation is defined (``@register_loss("dice")``); the
config schema offers ``names()`` as the setting's allowed values, so adding an implementation adds
the choice. The models have a registry of their own (``models/registry.py``), which also loads plugins.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

from busbench.errors import BusbenchError

T = TypeVar("T")


def similar_names(name: str, names: list[str]) -> list[str]:
    """Up to three of ``names`` that look like ``name`` (a typo: ``unte``), the closest first."""
    by_lower = {n.lower(): n for n in names}
    return [by_lower[n] for n in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)]


def unknown_name(setting: str, name: str, names: list[str]) -> BusbenchError:
    """The error for a name nothing registered: the setting, the closest names and every choice."""
    close = similar_names(name, names)
    guess = f"did you mean {', '.join(close)}? " if close else ""
    return BusbenchError(f"{setting} {name!r} is unknown; {guess}choose one of {', '.join(names)}")


def add_once(items: dict[str, T], name: str, item: T, what: str) -> None:
    """Register ``item`` as ``name``; a second registration of a name is a programming error."""
    if name in items:
        raise ValueError(f"{what} {name!r} is registered twice")
    items[name] = item


class Registry(Generic[T]):
    """Implementations by name, in the order they were registered; ``setting`` is the key that picks one."""

    def __init__(self, setting: str) -> None:
        self.setting = setting
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding an implementation under ``name``."""

        def add(item: T) -> T:
            add_once(self._items, name, item, self.setting)
            return item

        return add

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def check(self, name: str) -> str:
        """``name`` if registered; else an error naming the setting, the closest names and every choice."""
        if name not in self._items:
            raise unknown_name(self.setting, name, list(self._items))
        return name

    def get(self, name: str) -> T:
        return self._items[self.check(name)]
