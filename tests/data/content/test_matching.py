"""Matching two sets of cases by content: exact pixels first, then thumbnails one to one."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from busbench.data.content.fingerprint import image_thumbnail, lesion_box
from busbench.data.content.matching import EXACT, TOLERANT, masks_agree, match_cases
from busbench.data.duplicates.hashing import pixel_sha256


def _speckle(seed: int, shape: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = cv2.GaussianBlur(rng.uniform(0, 255, shape).astype(np.float32), (0, 0), 5)
    return cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def _frame(images: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame([{"case_id": cid, "pixel_sha256": pixel_sha256(g), "width": g.shape[1], "height": g.shape[0],
                          "thumbnail": image_thumbnail(g)} for cid, g in images.items()])


def test_renamed_resized_and_foreign_cases_are_told_apart() -> None:
    originals = {f"case{i}": _speckle(i) for i in range(8)}
    copy = {"renamed": originals["case0"], "case1": originals["case1"],
            "small": cv2.resize(originals["case2"], (64, 48), interpolation=cv2.INTER_AREA),
            "case3": cv2.resize(originals["case3"], (256, 192), interpolation=cv2.INTER_CUBIC),
            "foreign": _speckle(99)}
    matches = match_cases(_frame(originals), _frame(copy)).set_index("query_id")
    assert matches["reference_id"].to_dict() == {"renamed": "case0", "case1": "case1", "small": "case2",
                                                  "case3": "case3"}
    assert matches.loc["renamed", "level"] == EXACT and matches.loc["case1", "level"] == EXACT
    assert matches.loc["small", "level"] == TOLERANT and matches.loc["small", "correlation"] > 0.98


def test_one_image_filed_twice_pairs_by_name_first() -> None:
    image = _speckle(5)
    reference = _frame({"benign (433)": image, "malignant (145)": image})
    copy = _frame({"malignant (145)": image, "benign (433)": image})
    pairs = dict(zip(*match_cases(reference, copy)[["query_id", "reference_id"]].T.to_numpy()))
    assert pairs == {"benign (433)": "benign (433)", "malignant (145)": "malignant (145)"}


def test_another_aspect_ratio_never_matches() -> None:
    image = _speckle(6, (96, 128))
    stretched = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    assert match_cases(_frame({"a": image}), _frame({"b": stretched})).empty


def test_lesion_boxes_agree_across_resolutions_but_not_after_an_edit() -> None:
    lesion = np.zeros((200, 240), dtype=np.uint8)
    cv2.ellipse(lesion, (120, 90), (40, 25), 15, 0, 360, 1, -1)
    half = cv2.resize(lesion, (120, 100), interpolation=cv2.INTER_NEAREST)
    edited = lesion.copy()
    edited[:, 120:] = 0  # the right half erased
    assert masks_agree(lesion_box(lesion > 0), lesion_box(half > 0), (240, 200), (120, 100))
    assert not masks_agree(lesion_box(lesion > 0), lesion_box(edited > 0), (240, 200), (120, 100))
    assert masks_agree("", "", (240, 200), (120, 100))
    assert not masks_agree("", lesion_box(lesion > 0), (240, 200), (120, 100))


REFERENCE = "0.3000 0.3000 0.5000 0.5000 0.0300"  # a 20 x 20 px box of 300 px on a 100 x 100 grid


@pytest.mark.parametrize(("query", "agree"), [
    ("0.3000 0.3000 0.5400 0.5000 0.0300", True),  # one edge 4 px out (the centre 2 px)
    ("0.3000 0.3000 0.5402 0.5000 0.0300", False),
    ("0.3000 0.3000 0.5000 0.4600 0.0300", True),  # 4 px in, along the other axis
    ("0.3000 0.3000 0.5000 0.4598 0.0300", False),
    ("0.3250 0.3000 0.5250 0.5000 0.0300", True),  # the centre 2.5 px off
    ("0.3252 0.3000 0.5252 0.5000 0.0300", False),
    ("0.3000 0.3000 0.5000 0.5000 0.0340", True),  # 40 px more: one row and one column of the box
    ("0.3000 0.3000 0.5000 0.5000 0.0260", True),
    ("0.3000 0.3000 0.5000 0.5000 0.0343", False),  # beyond them and the rounding of both areas (1 px)
    ("0.3000 0.3000 0.5000 0.5000 0.0257", False),
    ("0.3000 0.3000 0.5300 0.5300 0.0343", True),  # a 23 x 23 px box: the larger box's row and column, 46 px
    ("0.3000 0.3000 0.5300 0.5300 0.0349", False),
])
def test_the_tolerance_is_in_pixels_of_the_coarser_grid(query: str, agree: bool) -> None:
    for coarse, fine in (((100, 100), (200, 200)), ((100, 100), (101, 100)), ((100, 100), (100, 150))):
        assert masks_agree(REFERENCE, query, coarse, fine) is agree
        assert masks_agree(query, REFERENCE, fine, coarse) is agree  # whichever side is the registry's


def test_the_same_boxes_at_finer_grids_are_further_apart() -> None:
    moved = "0.3000 0.3000 0.5400 0.5000 0.0300"  # 4 px at 100 px, 8 px at 200 px
    assert masks_agree(REFERENCE, moved, (100, 100), (400, 400))
    assert not masks_agree(REFERENCE, moved, (200, 200), (400, 400))
    assert not masks_agree(REFERENCE, "0.3000 0.3000 0.5000 0.5000 0.0340", (200, 200), (400, 400))
