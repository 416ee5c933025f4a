"""List settings whose items must differ: the same test-time augmentation view twice would
silently count once (or, averaged twice, weigh that view double), so a repeat is refused."""

from __future__ import annotations

from collections import Counter


def distinct(values: list[str]) -> list[str]:
    """``values`` unchanged; a ValueError naming the repeated items."""
    repeated = [value for value, times in Counter(values).items() if times > 1]
    if repeated:
        raise ValueError(f"{', '.join(repeated)} listed more than once; list each once")
    return values
