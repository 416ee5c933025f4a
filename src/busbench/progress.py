"""Progress of long loops, on every output.

On a terminal a rich bar shows it. A file or pipe (CI, ``nohup``, a SLURM log) gets nothing from
a live bar, so there a plain line (done/total, percent, time so far, ETA) is logged after an item
whenever the console has had no line for ``EVERY_S`` seconds: a redirected run is never silent for
longer than that plus one item, across loops that follow or nest in one another.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from rich.console import Console
from rich.progress import Progress

from busbench.log import duration, line_stream, logger, seconds_since_last_line

T = TypeVar("T")

EVERY_S = 10.0  # longest silence of a redirected run, give or take one item
_bars: list[Progress] = []  # the bar shown now: a loop inside another adds a row to it (rich shows one at a time)


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items``, showing a bar on a terminal and progress lines elsewhere."""
    stream = line_stream()
    if stream.isatty():
        yield from _bar(items, description, total, stream)
    else:
        yield from _lines(items, description, total)


def progress_line(description: str, done: int, total: int | None, elapsed: float) -> str:
    """``description: 120/780 (15 %), 12s so far, ETA 1m06s``; the ETA assumes the items left take
    as long as those done."""
    if not total:
        return f"{description}: {done} done, {duration(elapsed)} so far"
    left = elapsed / max(done, 1) * (total - done)
    return f"{description}: {done}/{total} ({100 * done // total} %), {duration(elapsed)} so far, ETA {duration(left)}"


def _lines(items: Iterable[T], description: str, total: int | None) -> Iterator[T]:
    started = time.monotonic()
    for done, item in enumerate(items, start=1):
        yield item
        if seconds_since_last_line() >= EVERY_S:
            logger.info(progress_line(description, done, total, time.monotonic() - started))


def _bar(items: Iterable[T], description: str, total: int | None, stream: TextIO) -> Iterator[T]:
    if _bars:
        yield from _advance(_bars[0], items, description, total)
        return
    with Progress(*Progress.get_default_columns(), console=Console(file=stream), transient=True) as bar:
        _bars.append(bar)
        try:
            yield from _advance(bar, items, description, total)
        finally:
            _bars.clear()


def _advance(bar: Progress, items: Iterable[T], description: str, total: int | None) -> Iterator[T]:
    task = bar.add_task(description, total=total)
    try:
        for item in items:
            yield item
            bar.advance(task)
    finally:
        bar.remove_task(task)
