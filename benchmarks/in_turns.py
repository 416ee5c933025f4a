"""Timing several ways of doing one thing fairly on a shared machine: they take turns, one call each, until
enough time has passed, so that a slow stretch of the machine (another job, a throttled core) falls on all of
them alike. The speed benchmarks (``train_speed.py``, ``onnx_speed.py``) print ratios of these times."""

from __future__ import annotations

import time
from collections.abc import Callable


def times_in_turns(calls: dict[str, Callable[[], object]], seconds: float, minimum: int) -> dict[str, list[float]]:
    """Each call's durations in seconds, the calls taking turns until ``seconds`` have passed and each has run
    at least ``minimum`` times."""
    times: dict[str, list[float]] = {label: [] for label in calls}
    started = time.perf_counter()
    while min(map(len, times.values())) < minimum or time.perf_counter() - started < seconds:
        for label, call in calls.items():
            tick = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - tick)
    return times
