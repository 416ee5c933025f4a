"""Locks between processes sharing an output folder: the holder named, then skipped or waited for."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from busbench.layout.locks import lock_file, lock_holder, locked


def _hold(path: Path, held: Event, release: Event) -> None:
    with locked(path, "the test's work"):
        held.set()
        release.wait(30)


def test_a_lock_held_by_another_process_is_named_then_skipped_or_waited_for(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = lock_file(tmp_path, "fold-1")
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(60)
        with caplog.at_level(logging.INFO, logger="busbench"), locked(path, "fold 1", wait=False) as mine:
            assert mine is False
        assert f"fold 1: process {holder.pid} on " in caplog.text and "skipped here" in caplog.text
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="busbench"), locked(path, "fold 1") as mine:
            assert mine is True and time.monotonic() - started >= 0.9
            assert lock_holder(path) == f"process {os.getpid()} on {socket.gethostname()}"
        assert f"fold 1: waiting for process {holder.pid} on " in caplog.text
    finally:
        release.set()
        holder.join(30)
