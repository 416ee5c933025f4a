"""Atomic writes: a temporary file per writer, renamed over the target; unchanged files left alone."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from busbench.layout.atomic import atomic_path, write_csv, write_json, write_png, write_text


def test_concurrent_writers_get_their_own_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "done.json"
    with atomic_path(target) as first, atomic_path(target) as second:  # two fold jobs writing one file
        assert first != second and first.parent == second.parent == tmp_path
        first.write_text("first")
        second.write_text("second")
    assert target.read_text() == "first"  # the outer writer finished last
    assert [p.name for p in tmp_path.iterdir()] == ["done.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "metrics.csv"
    write_csv(pd.DataFrame({"dice": [0.5]}), target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "dice\n0.500000\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_json_is_indented_and_sorted(tmp_path: Path) -> None:
    write_json({"b": 1, "a": tmp_path}, tmp_path / "x.json")
    assert (tmp_path / "x.json").read_text() == f'{{\n  "a": "{tmp_path}",\n  "b": 1\n}}\n'


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    write_text("a: 1\n", path)
    stamp = path.stat().st_mtime_ns
    time.sleep(0.01)
    write_text("a: 1\n", path)
    assert path.stat().st_mtime_ns == stamp
    write_text("a: 2\n", path)
    assert path.read_text() == "a: 2\n"


def test_png_is_written_through_a_temporary_name(tmp_path: Path) -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    write_png(pixels, tmp_path / "case.png")  # the temporary name ends in .tmp: the format is given, not guessed
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "case.png")), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["case.png"]
