"""16-bit PNGs holding 12-bit data: one scale per dataset, from its bit depth and largest value."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from busbench.data.cache import build_cache
from busbench.data.io import InputScaling, IntensityScale, intensity_scale, read_image, scaling_like_training
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset


def _twelve_bit_dataset(root: Path) -> None:
    """Three 16-bit scans holding 0..4095, 0..2000 and 0..4095, and one 8-bit scan."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    ramp = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    for name, top in (("a", 4095), ("b", 2000), ("c", 4095)):
        Image.fromarray(np.rint(ramp * top).astype(np.uint16)).save(root / "images" / f"{name}.png")
    Image.fromarray(np.rint(ramp * 255).astype(np.uint8)).save(root / "images" / "d.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 8:20] = 255
    for name in "abcd":
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")


def test_twelve_bit_data_in_sixteen_bit_pngs_is_scaled_once_for_the_whole_dataset(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _twelve_bit_dataset(tmp_path / "raw")
    with caplog.at_level(logging.INFO, logger="busbench"):
        prepare_dataset("folder", tmp_path / "raw", tmp_path / "data")
    assert "values up to 4095: read as 12-bit (0..4095 -> 0..255)" in caplog.text
    manifest = load_manifest(tmp_path / "data")
    assert set(manifest.frame["white_level"]) == {4095} and manifest.white_level == 4095  # what a run records
    rows = manifest.frame.set_index("case_id", drop=False)
    assert int(manifest.image(rows.loc["a"]).max()) == 255  # not 4095 / 257 = 16: near-black
    assert int(manifest.image(rows.loc["b"]).max()) == round(2000 * 255 / 4095)  # the dataset's scale, not its own
    assert int(manifest.image(rows.loc["d"]).max()) == 255  # 8-bit images are not rescaled
    cache = build_cache(manifest, 32, "resize")
    assert int(cache.images[cache.rows(["a"])[0]].max()) >= 250


def test_the_scale_follows_the_largest_value_and_bit_depth(tmp_path: Path) -> None:
    paths = []
    for top in (4095, 900):
        paths.append(tmp_path / f"{top}.png")
        Image.fromarray(np.array([[0, top]], dtype=np.uint16)).save(paths[-1])
    assert intensity_scale(paths) == IntensityScale(4095, 4095)
    assert intensity_scale(paths[1:]) == IntensityScale(1023, 900)  # 10-bit data
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(tmp_path / "full.png")
    assert intensity_scale([*paths, tmp_path / "full.png"]).white == 65535
    assert read_image(paths[1], white=4095).tolist() == [[0, round(900 * 255 / 4095)]]
    eight = tmp_path / "eight.png"
    Image.fromarray(np.array([[0, 200]], dtype=np.uint8)).save(eight)
    assert intensity_scale([eight]) == IntensityScale() and read_image(eight, white=4095).tolist() == [[0, 200]]


@pytest.mark.parametrize(("inputs", "trained", "white", "warning"), [
    (IntensityScale(2047, 1500), 4095, 4095, "values up to 1500 fit 11 bits, the training images were 12-bit: scaled "
                                             "as those (0..4095 -> 0..255); were these 11-bit images, they come out "
                                             "darker than the training images"),  # a dark 12-bit scan
    (IntensityScale(4095, 4000), 4095, 4095, ""),  # as the training images: no warning
    (IntensityScale(65535, 60000), 4095, 65535, "the training images were 12-bit, up to 4095; these are not scaled as "
                                                "they were: high-bit-depth images with values up to 60000: read as "
                                                "16-bit (0..65535 -> 0..255)"),  # brighter: clipping would lose them
    (IntensityScale(4095, 3000), 255, 4095, "the training images were 8-bit; these are not scaled as they were"),
    (IntensityScale(), 4095, 255, "the training images were 12-bit (0..4095 -> 0..255), these are 8-bit and are "
                                  "used as they are"),
    (IntensityScale(), 255, 255, ""),
    (IntensityScale(2047, 1500), None, 2047, "the run does not record how its training images were scaled"),
])
def test_predict_scales_as_the_training_images_and_warns_where_the_bit_depth_differs(
        inputs: IntensityScale, trained: int | None, white: int, warning: str) -> None:
    scaling = scaling_like_training(inputs, trained)
    assert isinstance(scaling, InputScaling) and scaling.white == white
    assert scaling.warning.startswith(warning) and bool(scaling.warning) == bool(warning), scaling.warning
