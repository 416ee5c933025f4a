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


def similar_names(name: str, names: list[str], most: int = 3) -> list[str]:
    """Up to ``most`` of ``names`` that look like ``name`` (a typo: ``unte``), the closest first."""
    by_lower = {n.lower(): n for n in names}
    return [by_lower[n] for n in difflib.get_close_matches(name.lower(), list(by_lower), n=most, cutoff=0.6)]


class Registry(Generic[T]):
    """Implementations by name, in the order they were registered; ``setting`` is the key that picks one."""

    def __init__(self, setting: str) -> None:
        self.setting = setting
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding an implementation under ``name``."""

        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.setting} {name!r} is registered twice")
            self._items[name] = item
            return item

        return add

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def check(self, name: str) -> str:
        """``name`` if registered; else an error naming the setting, the closest names and every choice."""
        if name not in self._items:
            close = similar_names(name, list(self._items))
            guess = f"did you mean {', '.join(close)}? " if close else ""
            raise BusbenchError(f"{self.setting} {name!r} is unknown; {guess}choose one of {', '.join(self._items)}")
        return name

    def get(self, name: str) -> T:
        return self._items[self.check(name)]
