"""Several images of one name (``case.jpg`` beside ``case.png`` and ``case_mask.png``): one is kept
by the same rule in every adapter (the image in its mask's format, else the PNG, else the first by
path), the others are logged; the valid pair is never lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from layouts import cases, make_busi, mask_u8, save

from busbench.data.prepare import PROBLEMS_CSV, prepare_dataset


def _problems(out: Path) -> list[tuple[str, str, str]]:
    return [(Path(f).name, a, r) for f, a, r in pd.read_csv(out / PROBLEMS_CSV).itertuples(index=False)]


def test_busi_keeps_the_png_whose_mask_is_a_png_beside_a_jpg(tmp_path: Path) -> None:
    data = [c for c in cases(8, seed=21) if c.label == "malignant"][:2]
    base = make_busi(tmp_path / "data", data)
    save(base / "malignant" / "malignant (1).jpg", data[0].image)
    result = prepare_dataset("busi", tmp_path / "data", tmp_path / "out")
    rows = result.frame.set_index("case_id")
    assert sorted(rows.index) == ["malignant (1)", "malignant (2)"]
    assert rows.loc["malignant (1)", "image_path"].endswith("malignant/malignant (1).png")
    assert rows.loc["malignant (1)", "mask_paths"] == '["Dataset_BUSI_with_GT/malignant/malignant (1)_mask.png"]'
    assert _problems(tmp_path / "out") == [
        ("malignant (1).jpg", "dropped", "another image of this name: malignant (1).png is kept (its mask has its "
                                         "format); rename this file to use it as a case of its own")]


def _folder(root: Path) -> list[np.ndarray]:
    """images/ and masks/: a.png + a.bmp with a BMP mask, b.jpg + b.tif with a PNG mask, c.png with a TIFF
    mask."""
    data = [c for c in cases(8, seed=22) if c.label != "normal"][:3]
    for name, case in zip("abc", data):
        save(root / "masks" / f"{name}{dict(a='.bmp', b='.png', c='.tif')[name]}", mask_u8(case.mask))
    save(root / "images" / "a.png", data[0].image)
    save(root / "images" / "a.bmp", data[0].image)
    save(root / "images" / "b.tif", data[1].image)
    save(root / "images" / "b.jpg", data[1].image)
    save(root / "images" / "c.png", data[2].image)
    return [c.image for c in data]


def test_folder_by_stem_keeps_the_mask_format_then_the_first_by_path(tmp_path: Path) -> None:
    _folder(tmp_path / "mine")
    result = prepare_dataset("folder", tmp_path / "mine", tmp_path / "out")
    assert result.frame[["case_id", "image_path"]].values.tolist() == [
        ["a", "images/a.bmp"], ["b", "images/b.jpg"], ["c", "images/c.png"]]
    assert _problems(tmp_path / "out") == [
        ("a.png", "dropped", "another image of this name: a.bmp is kept (its mask has its format); rename this file "
                             "to use it as a case of its own"),
        ("b.tif", "dropped", "another image of this name: b.jpg is kept (the first by path); rename this file to use "
                             "it as a case of its own")]


def test_folder_by_pattern_keeps_the_png_of_one_id(tmp_path: Path) -> None:
    _folder(tmp_path / "mine")
    save(tmp_path / "mine" / "images" / "c.jpg", np.zeros((40, 40), np.uint8))
    options = {"image_regex": r"images/(?P<id>[bc])\.(png|jpg|tif)", "mask_regex": r"masks/(?P<id>[bc])\.(png|tif)"}
    result = prepare_dataset("folder", tmp_path / "mine", tmp_path / "out", options)
    assert result.frame[["case_id", "image_path"]].values.tolist() == [["b", "images/b.jpg"], ["c", "images/c.png"]]
    dropped = {name: reason for name, action, reason in _problems(tmp_path / "out") if "another image" in reason}
    assert dropped == {"b.tif": "another image of this name: b.jpg is kept (the first by path); rename this file "
                                "to use it as a case of its own",
                       "c.jpg": "another image of this name: c.png is kept (a PNG is preferred); rename this file "
                                "to use it as a case of its own"}
