"""Test sizes and fold counts a dataset cannot honour are refused in one line that names the
setting and the values that work for it, before anything else is printed."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from layouts import cases, make_pairs

from busbench.data.labels import NORMAL
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.feasibility import shortfall
from busbench.data.split.grouping import LeakageGroups
from busbench.data.split.record import Split
from busbench.data.split.split_file import SplitSettings, large_groups, plan_split
from busbench.errors import BusbenchError


@pytest.fixture(scope="module")
def seventy(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """70 synthetic images, some normal, some sharing a patient: 52 groups."""
    base = tmp_path_factory.mktemp("seventy")
    prepare_dataset("synthetic", base / "raw", base / "manifest", {"count": 70, "size": 40})
    return load_manifest(base / "manifest")


def _lesion_in_every_fold(split: Split, manifest: Manifest) -> bool:
    labels = manifest.frame.set_index("case_id")["label"]
    cases = split.cases_frame()
    folds = cases[cases["set"] == "cv"].assign(lesion=lambda c: c["case_id"].map(labels) != NORMAL)
    return bool(folds.groupby("fold")["lesion"].any().reindex(range(1, split.folds + 1)).fillna(False).all())


def test_a_test_size_that_leaves_no_development_part_names_the_values_that_work(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError) as raised:
        plan_split(seventy, SplitSettings(test_size=0.99))
    message = str(raised.value)
    assert "\n" not in message and "(70 images in 52 groups kept whole: patients and duplicates)" in message
    assert message.endswith("--test-size 0.99 with --folds 5 does not work: the development part would hold 0 "
                            "groups, fewer than 5 folds; use --test-size 0.05 to 0.85 (with --folds 5)")
    assert _lesion_in_every_fold(plan_split(seventy, SplitSettings(test_size=0.85)), seventy)
    both = r"use --folds 2 to 3 \(with --test-size 0.9\) or --test-size 0.05 to 0.85 \(with --folds 5\)$"
    with pytest.raises(BusbenchError, match=r"--test-size 0.9 with --folds 5 does not work: .*; " + both):
        plan_split(seventy, SplitSettings(test_size=0.9))


def test_a_test_size_too_small_for_one_image_is_refused(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError, match=r"--test-size 0.001 with --folds 5 does not work: the test set would hold "
                                            r"no image; use --test-size 0.05 to 0.85 \(with --folds 5\)$"):
        plan_split(seventy, SplitSettings(test_size=0.001))


def test_folds_that_leave_a_fold_without_a_lesion_image_name_the_values_that_work(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError) as raised:
        plan_split(seventy, SplitSettings(folds=30))
    message = str(raised.value)
    found = re.search(r"--test-size 0.2 with --folds 30 does not work: fold \d+ of 30 would hold no lesion image to "
                      r"validate on; use --folds 2 to (\d+) \(with --test-size 0.2\)$", message)  # no size fits 30
    assert found, message
    most = int(found.group(1))
    assert _lesion_in_every_fold(plan_split(seventy, SplitSettings(folds=most)), seventy)
    with pytest.raises(BusbenchError, match=f"with --folds {most + 1} does not work"):
        plan_split(seventy, SplitSettings(folds=most + 1))


def test_a_dataset_too_small_for_any_split_says_so(tmp_path: Path) -> None:
    make_pairs(tmp_path / "two", cases(2, seed=7))
    prepare_dataset("folder", tmp_path / "two", tmp_path / "m")
    refused = (r"\(2 images in 2 groups kept whole: patients and duplicates\): too few images for a test set and 2 "
               r"folds: .* at --test-size 0.2, and no test size from 0.05 to 0.95 works; use a larger dataset$")
    with pytest.raises(BusbenchError, match=refused):
        plan_split(load_manifest(tmp_path / "m"), SplitSettings(folds=2))


def test_image_level_test_sizes_are_bounded_too(seventy: Manifest) -> None:
    """scikit-learn's refusal becomes the one line; its warnings about the candidates tried are not shown."""
    refused = (r"\(70 images\): --test-size 0.99 with --folds 5 does not work: .*train set will be empty.*; use "
               r"--test-size 0.05 to 0.\d+ \(with --folds 5\)$")
    with pytest.raises(BusbenchError, match=refused), warnings.catch_warnings():
        warnings.simplefilter("error")
        plan_split(seventy, SplitSettings(test_size=0.99, protocol="image_level"))


def test_the_error_comes_first_and_alone(seventy: Manifest, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """30 folds of 56 images: one error line, not dozens of group warnings before it."""
    assert run_cli(monkeypatch, "split", str(seventy.path), "--folds", "30") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "with --folds 30 does not work" in err[0]


@pytest.mark.parametrize(("is_test", "fold", "lesion", "expected"), [
    ([0, 0, 0], [1, 2, 2], [1, 1, 1], "the test set would hold no image"),
    ([1, 0, 0], [0, 2, 2], [1, 1, 1], "fold 1 of 2 would hold no image"),
    ([1, 0, 0], [0, 1, 2], [1, 1, 0], "fold 2 of 2 would hold no lesion image to validate on"),
    ([1, 0, 0], [0, 1, 2], [0, 0, 0], None),  # no lesion anywhere: an image per fold is all there can be
    ([1, 0, 0], [0, 1, 2], [0, 1, 1], None),
])
def test_shortfall_names_what_a_cut_lacks(is_test: list[int], fold: list[int], lesion: list[int],
                                          expected: str | None) -> None:
    roles = (np.array(is_test, dtype=bool), np.array(fold))
    assert shortfall(roles, np.array(lesion, dtype=bool), 2) == expected


def test_a_single_image_is_never_a_large_group(tmp_path: Path) -> None:
    """Half a fold below one image made every single image a 'group ... linked by .'."""
    frame = pd.DataFrame({"case_id": ["a", "b", "c", "d"]})
    links = pd.DataFrame([("c", "d", "same patient", 0.0)], columns=["case_a", "case_b", "measure", "value"])
    leakage = LeakageGroups(np.array([0, 1, 2, 2]), np.zeros(4, dtype=bool), links)
    found = large_groups(leakage, frame, 0.5)
    assert [(g["size"], g["members"]) for g in found] == [(2, ["c", "d"])]
    assert found[0]["links"] == [["c", "d", "same patient", 0.0]]
