"""Locks between processes sharing an output folder: the holder named, then skipped or waited for; a failed
step's lock removed without letting two processes hold it at once."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from filelock import FileLock

from busbench.layout import locks as locks_module
from busbench.layout.locks import LOCKS, lock_file, lock_holder, locked


def _hold(path: Path, held: Event, release: Event) -> None:
    with locked(path, "the test's work"):
        held.set()
        release.wait(30)


@contextmanager
def _held_by_another_process(path: Path) -> Iterator[tuple[BaseProcess, Event]]:
    """A spawned process holding the lock ``path`` until the yielded event is set (at the latest on leaving)."""
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(path, held, release))
    holder.start()
    try:
        assert held.wait(60)
        yield holder, release
    finally:
        release.set()
        holder.join(30)


def test_a_lock_held_by_another_process_is_named_then_skipped_or_waited_for(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = lock_file(tmp_path, "fold-1")
    with _held_by_another_process(path) as (holder, release):
        with caplog.at_level(logging.INFO, logger="busbench"), locked(path, "fold 1", wait=False) as mine:
            assert mine is False
        assert f"fold 1: process {holder.pid} on " in caplog.text and "skipped here" in caplog.text
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        with caplog.at_level(logging.INFO, logger="busbench"), locked(path, "fold 1") as mine:
            assert mine is True and time.monotonic() - started >= 0.9
            assert lock_holder(path) == f"process {os.getpid()} on {socket.gethostname()}"
        assert f"fold 1: waiting for process {holder.pid} on " in caplog.text


def test_a_failed_step_removes_its_lock_and_the_folders_it_made_left_empty(tmp_path: Path) -> None:
    made = tmp_path / "runs" / "data" / "busi-1234"
    with pytest.raises(RuntimeError, match="wrong data folder"), locked(lock_file(made, "data"), "preparing"):
        raise RuntimeError("wrong data folder")
    assert list(tmp_path.iterdir()) == []  # runs/, runs/data/, the data folder and .locks/ were made for it


def test_a_failed_step_keeps_what_it_wrote_and_the_folders_that_were_there(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    folder = tmp_path / "runs" / "cell"
    with pytest.raises(KeyboardInterrupt), locked(lock_file(folder, "fold-0"), "fold 0"):
        folder.joinpath("config.yaml").write_text("name: x\n")
        raise KeyboardInterrupt
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "runs", "runs/cell", "runs/cell/config.yaml"]


def test_a_successful_step_keeps_its_lock_file(tmp_path: Path) -> None:
    with locked(lock_file(tmp_path, "data"), "preparing"):
        pass
    assert [p.name for p in (tmp_path / LOCKS).iterdir()] == ["data.lock"]


def test_a_step_skipped_for_another_holder_never_removes_its_lock(tmp_path: Path) -> None:
    path = lock_file(tmp_path / "cell", "fold-1")
    with _held_by_another_process(path) as (holder, _):
        with pytest.raises(RuntimeError), locked(path, "fold 1", wait=False) as mine:
            assert mine is False
            raise RuntimeError("this process failed, not the holder")
        assert path.is_file() and lock_holder(path) == f"process {holder.pid} on {socket.gethostname()}"


def _fail_holding(path: Path, held: Event, release: Event) -> None:
    with locked(path, "the failing step"):
        held.set()
        release.wait(30)
        raise SystemExit(1)


def _try(path: Path, got: Queue) -> None:  # type: ignore[type-arg]
    with locked(path, "a third process", wait=False) as mine:
        got.put(mine)


def test_a_process_waiting_on_a_failed_holders_lock_holds_the_one_at_its_path(tmp_path: Path) -> None:
    """The failed holder removes its lock file and folders; the waiter must not hold the removed file,
    or a third process would lock a new file at the same path and both would run at once."""
    path = lock_file(tmp_path / "runs" / "data" / "busi-1234", "data")
    context = multiprocessing.get_context("spawn")
    held, release, got = context.Event(), context.Event(), context.Queue()
    failing = context.Process(target=_fail_holding, args=(path, held, release))
    failing.start()
    try:
        assert held.wait(60)
        threading.Timer(1.0, release.set).start()
        with locked(path, "the waiting step") as mine:
            failing.join(30)  # it failed, and released the lock it removed
            assert mine is True and failing.exitcode == 1
            assert path.is_file() and lock_holder(path) == f"process {os.getpid()} on {socket.gethostname()}"
            third = context.Process(target=_try, args=(path, got))
            third.start()
            assert got.get(timeout=60) is False
            third.join(30)
    finally:
        release.set()
        failing.join(30)


def test_a_lock_on_a_file_no_longer_at_its_path_is_taken_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """filelock 4 retries a file its holder unlinked itself; older filelocks (>= 3.12 is allowed) lock it."""
    path = lock_file(tmp_path, "data")
    lock = FileLock(path)
    lock.acquire()
    try:
        assert locks_module._still_at(lock, path)
        path.unlink()  # its failed holder removed it: another process may lock a new file at the path
        assert not locks_module._still_at(lock, path)
        path.touch()
        assert not locks_module._still_at(lock, path)
    finally:
        lock.release()
    answers = iter([False, True])
    seen: list[Path] = []

    def moved_once(lock: FileLock, at: Path) -> bool:
        seen.append(at)
        return next(answers)

    monkeypatch.setattr(locks_module, "_still_at", moved_once)
    with locked(path, "preparing") as mine:
        assert mine is True and seen == [path, path]
