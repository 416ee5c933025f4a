"""Matching a manifest older than the thumbnails: identical pixels only, the rest left unpaired."""

from __future__ import annotations

import pandas as pd

from busbench.data.content.matching import EXACT, match_cases


def test_without_thumbnails_only_identical_pixels_pair() -> None:
    reference = pd.DataFrame({"case_id": ["r1", "r2", "r3"], "pixel_sha256": ["aa", "bb", "cc"]})
    query = pd.DataFrame({"case_id": ["q1", "r2", "q3"], "pixel_sha256": ["aa", "bb", "zz"]})
    matches = match_cases(reference, query, tolerant=False)
    assert matches[["query_id", "reference_id"]].values.tolist() == [["q1", "r1"], ["r2", "r2"]]
    assert set(matches["level"]) == {EXACT}
