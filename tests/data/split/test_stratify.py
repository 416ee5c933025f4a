"""Strata of the split: class and lesion-size tertile, against bins worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from busbench.data.split.stratify import size_tertiles, strata


def test_lesions_fall_in_the_size_tertile_of_their_area_and_normal_images_in_one_stratum() -> None:
    areas = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09]
    frame = pd.DataFrame({"label": ["benign"] * 6 + ["malignant"] * 3 + ["normal"],
                          "lesion_area_fraction": [*areas, 0.0]})
    # 9 lesion areas: the 1/3 and 2/3 quantiles lie between the 3rd and 4th, and the 6th and 7th (normal left out)
    low, high = size_tertiles(frame)
    assert 0.03 < low < 0.04 and 0.06 < high < 0.07
    assert low == pytest.approx(0.01 + 8 / 3 * 0.01) and high == pytest.approx(0.01 + 16 / 3 * 0.01)
    assert strata(frame, (low, high)).tolist() == [
        "benign/small", "benign/small", "benign/small", "benign/medium", "benign/medium", "benign/medium",
        "malignant/large", "malignant/large", "malignant/large", "normal"]
