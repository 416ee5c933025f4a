"""The run-folder layout: fold folders by number, and atomic writes that never share a temporary file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from busbench.layout import (
    atomic_path,
    cell_data_folder,
    cell_folder,
    data_folder,
    fold_folder,
    fold_folders,
    fold_number,
    write_csv,
    write_json,
    write_png,
)


def test_fold_folders_sort_by_number_and_parse_back(tmp_path: Path) -> None:
    for fold in (10, 2, 1):
        fold_folder(tmp_path, fold).mkdir()
    assert [f.name for f in fold_folders(tmp_path)] == ["fold-1", "fold-2", "fold-10"]
    assert fold_number(fold_folder(tmp_path, 12)) == 12


def test_a_cell_finds_its_data_folder(tmp_path: Path) -> None:
    cell = cell_folder(tmp_path, "exp", "busi-1234/unet")
    assert cell == tmp_path / "exp" / "busi-1234" / "unet"
    assert cell_data_folder(cell) == data_folder(tmp_path, "busi-1234") == tmp_path / "data" / "busi-1234"


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


def test_png_is_written_through_a_temporary_name(tmp_path: Path) -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    write_png(pixels, tmp_path / "case.png")  # the temporary name ends in .tmp: the format is given, not guessed
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "case.png")), pixels)
    assert [p.name for p in tmp_path.iterdir()] == ["case.png"]
