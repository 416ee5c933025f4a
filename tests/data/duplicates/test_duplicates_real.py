"""The detector against pairs of real BUSI and BUS-BRA images labelled by eye.

``busbench/data/duplicates/reviewed_pairs.csv`` holds pairs found by several generators (pHash at larger distances,
thumbnail correlation, ORB matching, similar mask shapes, consecutive file numbers, and the
detector's own near misses) and labelled by looking at them side by side, zoomed pairs after
warping one onto the other. The bounds are the measured values with a small margin: recall
50/92 on BUSI and 9/13 on BUS-BRA with no false link among 86 negatives (benchmarks/duplicates_eval.py);
a threshold set to zero or to "link everything" breaks them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from busbench.data.duplicates.links import DuplicateSettings, cross_duplicate_links, duplicate_links
from busbench.data.duplicates.reviewed import reviewed_pairs
from busbench.data.manifest import Manifest
from busbench.data.split.grouping import leakage_groups

PAIRS = reviewed_pairs()

# every test reads the real datasets, some through request.getfixturevalue, which collection cannot see
pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def busi_links(busi_manifest: Manifest) -> pd.DataFrame:
    return duplicate_links(busi_manifest, DuplicateSettings())


@pytest.fixture(scope="module")
def busbra_links(busbra_manifest: Manifest) -> pd.DataFrame:
    return duplicate_links(busbra_manifest, DuplicateSettings())


def _linked(labelled: pd.DataFrame, links: pd.DataFrame) -> np.ndarray:
    pairs = {frozenset(p) for p in zip(links["case_a"], links["case_b"])}
    return np.array([frozenset(p) in pairs for p in zip(labelled["case_a"], labelled["case_b"])])


def _duplicate_groups(manifest: Manifest, links: pd.DataFrame) -> np.ndarray:
    """Group sizes from the duplicate links alone (patients left out)."""
    frame = manifest.frame[["case_id"]].assign(patient_id="")
    return np.bincount(leakage_groups(frame, links).labels)


def test_the_labelled_set_is_balanced_and_names_real_cases(busi_manifest: Manifest,
                                                           busbra_manifest: Manifest) -> None:
    assert list(PAIRS.columns) == ["dataset", "case_a", "case_b", "duplicate", "kind", "note"]
    assert (PAIRS["duplicate"] == 1).sum() >= 50 and (PAIRS["duplicate"] == 0).sum() >= 50
    assert not PAIRS.duplicated(["case_a", "case_b"]).any()
    for dataset, manifest in (("busi", busi_manifest), ("busbra", busbra_manifest)):
        rows = PAIRS[PAIRS["dataset"] == dataset]
        assert set(rows["case_a"]) | set(rows["case_b"]) <= set(manifest.frame["case_id"])


@pytest.mark.parametrize(("dataset", "min_recall", "max_false_links"), [("busi", 46 / 92, 1), ("busbra", 8 / 13, 1)])
def test_links_find_the_labelled_duplicates_and_no_labelled_negative(
        dataset: str, min_recall: float, max_false_links: int, request: pytest.FixtureRequest) -> None:
    links = request.getfixturevalue(f"{dataset}_links")
    labelled = PAIRS[PAIRS["dataset"] == dataset]
    linked = _linked(labelled, links)
    truth = labelled["duplicate"].to_numpy() == 1
    assert (linked & truth).sum() / truth.sum() >= min_recall
    assert (linked & ~truth).sum() <= max_false_links, labelled[linked & ~truth]


def test_busi_groups_stay_small_and_keep_the_known_copies(busi_manifest: Manifest, busi_links: pd.DataFrame) -> None:
    sizes = _duplicate_groups(busi_manifest, busi_links)
    assert sizes.max() <= 10  # measured 7: the malignant (3)-(9) series
    assert 140 <= (sizes > 1).sum() <= 170  # measured 153 groups holding 347 images
    identical = busi_links[busi_links["measure"] == "identical pixels"]
    assert identical[["case_a", "case_b"]].values.tolist() == [["benign (433)", "malignant (145)"]]


def test_busbra_links_no_different_patients_by_their_shared_device_look(
        busbra_manifest: Manifest, busbra_links: pd.DataFrame) -> None:
    assert _duplicate_groups(busbra_manifest, busbra_links).max() <= 3  # measured 2
    assert 6 <= len(busbra_links) <= 20  # measured 9, every one a true copy when viewed


def test_cross_links_find_copies_between_two_sets(busbra_manifest: Manifest, busi_manifest: Manifest) -> None:
    train = ["bus_0341-l", "bus_0341-r", "bus_0853-l", "bus_0001-l"]
    test = ["bus_0356-l", "bus_0356-r", "bus_0854-s", "bus_0002-l"]
    links = cross_duplicate_links(busbra_manifest, train, busbra_manifest, test, DuplicateSettings())
    assert set(zip(links["case_a"], links["case_b"])) == {("bus_0341-l", "bus_0356-l"), ("bus_0341-r", "bus_0356-r"),
                                                          ("bus_0853-l", "bus_0854-s")}
    busi = cross_duplicate_links(busi_manifest, ["malignant (145)", "benign (1)"], busi_manifest,
                                 ["benign (433)", "benign (2)"], DuplicateSettings())
    assert busi.values.tolist() == [["malignant (145)", "benign (433)", "identical pixels", 0.0]]
