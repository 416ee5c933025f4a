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

from busbench.data.labels import NORMAL
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.feasibility import shortfall
from busbench.data.split.grouping import LeakageGroups
from busbench.data.split.split_file import SplitSettings, large_groups, plan_split
from busbench.errors import BusbenchError


@pytest.fixture(scope="module")
def seventy(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """70 synthetic images, some normal, some sharing a patient: 52 groups."""
    base = tmp_path_factory.mktemp("seventy")
    prepare_dataset("synthetic", base / "raw", base / "manifest", {"count": 70, "size": 40})
    return load_manifest(base / "manifest")


def _upper(message: str, option: str) -> float:
    return float(re.search(rf"use {option} \S+ to (\S+)$", message).group(1))  # type: ignore[union-attr]


def _lesion_in_every_fold(document: dict, manifest: Manifest) -> bool:
    labels = manifest.frame.set_index("case_id")["label"]
    cases = pd.DataFrame(document["cases"])
    folds = cases[cases["set"] == "cv"].assign(lesion=lambda c: c["case_id"].map(labels) != NORMAL)
    return bool(folds.groupby("fold")["lesion"].any().reindex(range(1, document["folds"] + 1)).fillna(False).all())


def test_a_test_size_that_leaves_no_development_part_names_the_sizes_that_work(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError) as raised:
        plan_split(seventy, SplitSettings(test_size=0.99))
    message = str(raised.value)
    assert "\n" not in message
    assert "--test-size 0.99 does not work: the development part would hold 0 groups, fewer than 5 folds" in message
    assert "52 groups kept whole" in message and message.endswith("with --folds 5 use --test-size 0.05 to 0.85")
    largest = _upper(message, "--test-size")
    assert _lesion_in_every_fold(plan_split(seventy, SplitSettings(test_size=largest)), seventy)
    with pytest.raises(BusbenchError, match="with --test-size 0.9 use --folds 2 to 3"):  # 5 folds: too many
        plan_split(seventy, SplitSettings(test_size=largest + 0.05))


def test_a_test_size_too_small_for_one_image_is_refused(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError, match="--test-size 0.001 does not work: the test set would hold no image; "
                                            "with --folds 5 use --test-size 0.05 to"):
        plan_split(seventy, SplitSettings(test_size=0.001))


def test_folds_that_leave_a_fold_without_a_lesion_image_name_the_fold_counts_that_work(seventy: Manifest) -> None:
    with pytest.raises(BusbenchError) as raised:
        plan_split(seventy, SplitSettings(folds=30))
    message = str(raised.value)
    assert re.search(r"--folds 30 is too many: fold \d+ of 30 would hold no lesion image to validate on; "
                     r"with --test-size 0.2 use --folds 2 to \d+$", message), message
    most = int(_upper(message, "--folds"))
    assert _lesion_in_every_fold(plan_split(seventy, SplitSettings(folds=most)), seventy)
    with pytest.raises(BusbenchError, match=f"--folds {most + 1} is too many"):
        plan_split(seventy, SplitSettings(folds=most + 1))


def test_image_level_test_sizes_are_bounded_too(seventy: Manifest) -> None:
    """scikit-learn's refusal becomes the one line; its warnings about the candidates tried are not shown."""
    refused = r"\(70 images\): --test-size 0.99 does not work: .*train set will be empty.*; with --folds 5 use"
    with pytest.raises(BusbenchError, match=refused), warnings.catch_warnings():
        warnings.simplefilter("error")
        plan_split(seventy, SplitSettings(test_size=0.99, protocol="image_level"))


def test_the_error_comes_first_and_alone(seventy: Manifest, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """30 folds of 56 images: one error line, not dozens of group warnings before it."""
    assert run_cli(monkeypatch, "split", str(seventy.path), "--folds", "30") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--folds 30 is too many" in err[0]


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
