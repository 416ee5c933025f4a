"""Progress of long loops: plain lines wherever the console is a file or pipe (a live bar prints
nothing there), at most ``EVERY_S`` seconds apart; a bar on a terminal, also for nested loops."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_file import console_file

from busbench import log
from busbench import progress as progress_module
from busbench.log import logger, seconds_since_last_line, setup_logging
from busbench.progress import progress, progress_line


def test_the_line_says_done_total_percent_time_and_eta() -> None:
    assert progress_line("duplicate search: checking candidate pairs", 30, 120, 60.0) == (
        "duplicate search: checking candidate pairs: 30/120 (25 %), 1m00s so far, ETA 3m00s")
    assert progress_line("x", 120, 120, 75.0) == "x: 120/120 (100 %), 1m15s so far, ETA 0s"
    assert progress_line("x", 7, None, 3.0) == "x: 7 done, 3s so far"


def test_a_file_gets_a_line_once_the_console_was_silent_for_every_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    silences: Iterator[float] = iter([3.0, 11.0, 2.0, 10.0, 9.9])  # measured after items 1..5
    monkeypatch.setattr(progress_module, "seconds_since_last_line", lambda: next(silences))
    with console_file(tmp_path / "out.txt", monkeypatch, every_s=10.0) as out:
        assert list(progress("abcde", "letters", total=5)) == list("abcde")
    lines = out.read_text().splitlines()
    assert [line.split(" ", 1)[1].split(",")[0] for line in lines] == ["letters: 2/5 (40 %)", "letters: 4/5 (80 %)"]


def test_any_console_line_restarts_the_silence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log, "_last_line", [time.monotonic() - 100.0])
    assert seconds_since_last_line() >= 100.0
    with console_file(tmp_path / "out.txt", monkeypatch):
        logger.info("something else")
        assert seconds_since_last_line() < 1.0


def test_nested_loops_in_a_file_each_print_their_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with console_file(tmp_path / "out.txt", monkeypatch) as out:
        for _ in progress(range(3), "outer", total=3):
            list(progress(range(2), "inner", total=2))
    text = out.read_text()
    assert text.count("outer: ") == 3 and text.count("inner: ") == 6 and "outer: 3/3 (100 %)" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_no_lines_also_for_nested_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, previous, handlers = _Terminal(), sys.stdout, list(logger.handlers)
    monkeypatch.setattr(progress_module, "EVERY_S", 0.0)
    sys.stdout = terminal
    rows: list[list[str]] = []
    try:
        setup_logging()
        for _ in progress(range(3), "outer", total=3):
            for _ in progress(range(2), "inner", total=2):
                rows.append([task.description for bar in progress_module._bars for task in bar.tasks])
    finally:
        logger.handlers[:] = handlers
        sys.stdout = previous
    assert rows == [["outer", "inner"]] * 6  # one live display, the inner loop a row of it (two would garble)
    assert "outer: " not in terminal.getvalue() and not progress_module._bars
