"""Near-duplicate links on synthetic images whose relations are known by construction.

Images are 160-250 px: ORB needs a 31 px border and patch, so at the 32-64 px used elsewhere no
keypoint would exist and only the correlation measure would be exercised. A handful of images of
this size take well under a second.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from layouts import save
from pydantic import ValidationError

from busbench.config import SplitConfig
from busbench.data.duplicates import overlay
from busbench.data.duplicates.links import (
    CORRELATION,
    IDENTICAL,
    KEYPOINTS,
    LINK_COLUMNS,
    DuplicateSettings,
    cross_duplicate_links,
    duplicate_links,
)
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.split_file import SplitSettings
from busbench.data.synthetic import generate_cases
from busbench.errors import BusbenchError


def _manifest(root: Path, images: dict[str, np.ndarray]) -> Manifest:
    """A ``folder`` dataset of these grey images (each with a small square lesion mask)."""
    for name, image in images.items():
        save(root / "raw" / "images" / f"{name}.png", image)
        mask = np.zeros(image.shape, np.uint8)
        mask[20:30, 20:30] = 255
        save(root / "raw" / "masks" / f"{name}.png", mask)
    prepare_dataset("folder", root / "raw", root / "manifest")
    return load_manifest(root / "manifest")


def _pairs(links: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(p) for p in zip(links["case_a"], links["case_b"])}


def _scan(seed: int, size: int = 250) -> np.ndarray:
    """A synthetic B-mode scan (about 0.8 as high as wide)."""
    return generate_cases(1, size, seed=seed, near_duplicate_rate=0.0)[0].image


def _calipers_and_text(image: np.ndarray) -> np.ndarray:
    marked = image.copy()
    for x, y in ((60, 70), (130, 70), (95, 40), (95, 110)):
        cv2.drawMarker(marked, (x, y), 255, cv2.MARKER_CROSS, 9, 1)
    cv2.line(marked, (60, 70), (130, 70), 255, 1, lineType=cv2.LINE_4)
    cv2.putText(marked, "LT BREAST 2H", (8, marked.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1)
    return marked


def _copies_of_one_scan() -> dict[str, np.ndarray]:
    """One scan seen as an operator would save it: cropped, shifted, zoomed in and out by 25 %,
    with calipers and text; ``other`` is a different scan."""
    wide = _scan(seed=9)  # a malignant lesion with posterior shadowing
    h, w = wide.shape
    base = wide[25:h - 25, 25:w - 25]
    bh, bw = base.shape
    zoom_in = wide[25 + bh // 10:h - 25 - bh // 10, 25 + bw // 10:w - 25 - bw // 10]  # 0.8 of base
    return {
        "base": base,
        "crop": base[12:bh - 20, 6:bw - 14],
        "shift": wide[40:h - 10, 10:w - 40],
        "zoom_in": cv2.resize(zoom_in, (bw, bh), interpolation=cv2.INTER_LINEAR),  # content x1.25
        "zoom_out": cv2.resize(wide, (round(w * 0.8), round(h * 0.8)), interpolation=cv2.INTER_AREA),
        "marked": _calipers_and_text(base),
        "other": _scan(seed=13)[20:h - 30, 30:w - 20],
    }


def test_crops_shifts_zooms_and_overlays_of_one_scan_are_linked(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _copies_of_one_scan())
    links = duplicate_links(manifest, DuplicateSettings())
    assert list(links.columns) == LINK_COLUMNS
    copies = {"base", "crop", "shift", "zoom_in", "zoom_out", "marked"}
    for name in copies - {"base"}:
        assert frozenset(("base", name)) in _pairs(links), f"{name} not linked to base: {links}"
    assert all("other" not in pair for pair in _pairs(links))
    assert set(links["measure"]) <= {KEYPOINTS, CORRELATION}
    assert (links["case_a"] < links["case_b"]).all()
    by_keypoints = links[links["measure"] == KEYPOINTS]
    assert (by_keypoints["value"] >= DuplicateSettings().near_duplicate_inliers).all()


def test_a_zoom_beyond_the_largest_scale_is_not_matched_by_keypoints(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _copies_of_one_scan())
    strict = duplicate_links(manifest, DuplicateSettings(near_duplicate_max_scale=1.1,
                                                         near_duplicate_correlation=1.0))
    assert frozenset(("base", "zoom_in")) not in _pairs(strict)
    assert frozenset(("base", "crop")) in _pairs(strict)


def test_exact_copies_are_linked_as_identical_pixels(tmp_path: Path) -> None:
    scan = _scan(seed=3)
    manifest = _manifest(tmp_path, {"a": scan, "b": scan.copy(), "c": _scan(seed=4)})
    links = duplicate_links(manifest, DuplicateSettings())
    assert links.values.tolist() == [["a", "b", IDENTICAL, 0.0]]


def _device_frame(scan: np.ndarray) -> np.ndarray:
    """What one scanner draws on every image, as on BUS-UCLM's screens: a black frame with a
    column of settings text, a title bar, a body marker pictogram and a depth scale."""
    h, w = scan.shape
    framed = np.zeros((h + 30, w + 90), np.uint8)
    framed[30:, 70:70 + w] = scan
    cv2.putText(framed, "ACME EXAM  L12-5  BREAST", (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1)
    for row, text in enumerate(("2D", "GN 52", "DR 60", "FR 24", "7.5MHz", "MI 1.1", "TIS 0.2", "PWR 100")):
        cv2.putText(framed, text, (2, 50 + 22 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 255, 1)
    cv2.circle(framed, (35, h + 5), 14, 200, 2)
    cv2.rectangle(framed, (27, h), (43, h + 4), 230, -1)
    for depth in range(40, h + 20, 16):
        cv2.line(framed, (w + 74, depth), (w + 84, depth), 255, 1)
    return framed


def _framed_scans(count: int) -> dict[str, np.ndarray]:
    return {f"patient{k:02d}": _device_frame(_scan(seed=100 + k)) for k in range(count)}


def test_different_scans_with_one_device_frame_are_not_linked(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _framed_scans(10))
    assert duplicate_links(manifest, DuplicateSettings()).empty


def test_without_the_overlay_mask_the_device_frame_links_different_scans(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard the previous test relies on: seen whole, the shared frame does link them."""
    monkeypatch.setattr(overlay, "MIN_IMAGES", 10_000)
    manifest = _manifest(tmp_path, _framed_scans(10))
    assert not duplicate_links(manifest, DuplicateSettings()).empty


def test_a_copy_inside_a_device_frame_is_still_linked(tmp_path: Path) -> None:
    scans = _framed_scans(9)
    scans["copy"] = _device_frame(_calipers_and_text(_scan(seed=100)))
    links = duplicate_links(_manifest(tmp_path, scans), DuplicateSettings())
    assert _pairs(links) == {frozenset(("copy", "patient00"))}


def test_cross_links_pair_the_first_set_with_the_second_only(tmp_path: Path) -> None:
    copies = _copies_of_one_scan()
    train = _manifest(tmp_path / "train", {"t_base": copies["base"], "t_crop": copies["crop"],
                                           "t_x": _scan(seed=21)})
    test = _manifest(tmp_path / "test", {"s_zoom": copies["zoom_in"], "s_y": _scan(seed=22),
                                         "s_z": _scan(seed=23)})
    links = cross_duplicate_links(train, ["t_base", "t_crop", "t_x"], test, ["s_zoom", "s_y", "s_z"],
                                  DuplicateSettings())
    assert set(zip(links["case_a"], links["case_b"])) == {("t_base", "s_zoom"), ("t_crop", "s_zoom")}
    only_x = cross_duplicate_links(train, ["t_x"], test, ["s_zoom", "s_y", "s_z"], DuplicateSettings())
    assert only_x.empty


def test_links_are_reproducible(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, _copies_of_one_scan())
    first = duplicate_links(manifest, DuplicateSettings())
    pd.testing.assert_frame_equal(first, duplicate_links(manifest, DuplicateSettings()))


@pytest.mark.parametrize(("field", "value"), [("near_duplicate_distance", 65), ("near_duplicate_inliers", 2),
                                              ("near_duplicate_spread", 1.5), ("near_duplicate_correlation", 1.2),
                                              ("near_duplicate_max_scale", 0.9)])
def test_bad_settings_name_the_setting(field: str, value: float) -> None:
    with pytest.raises(BusbenchError, match=f"split.{field}"):
        DuplicateSettings(**{field: value}).check()
    with pytest.raises(ValidationError, match=field):
        SplitConfig(**{field: value})


def test_split_config_and_settings_carry_every_detector_knob_with_its_default() -> None:
    defaults = {f.name: f.default for f in fields(DuplicateSettings)}
    assert all(name.startswith("near_duplicate_") for name in defaults)
    config = SplitConfig()
    for name, default in defaults.items():
        assert getattr(config, name) == default
    assert SplitSettings().duplicates == DuplicateSettings()
    assert SplitConfig(near_duplicate_inliers=30).settings().duplicates.near_duplicate_inliers == 30
