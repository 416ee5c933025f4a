"""Progress bars for long loops, shown only on an interactive terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import track

T = TypeVar("T")


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on a TTY, silently elsewhere (CI, logs)."""
    if not sys.stderr.isatty():
        yield from items
        return
    yield from track(items, description=description, total=total, transient=True)
