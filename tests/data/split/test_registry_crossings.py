"""Reviewed duplicate pairs that a registry's fixed roles put in two parts: named where a split is made from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from hand_split import hand_split

from busbench.data.manifest import Manifest
from busbench.data.split.summary import pairs_across_parts


def test_pairs_across_parts_names_each_pair_in_two_parts_with_its_parts() -> None:
    split = hand_split([("a", "test", None, 0), ("b", "cv", 2, 1), ("c", "cv", 2, 2), ("d", "cv", 1, 3)], folds=2)
    assert pairs_across_parts(split, [("a", "b"), ("b", "c"), ("c", "d"), ("a", "gone")]) == [
        "a (test) / b (fold 2)", "c (fold 2) / d (fold 1)"]


def test_split_by_the_busi_registry_names_the_reviewed_duplicates_it_puts_apart(
        busi_manifest: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # busi-v1 was cut before these pairs were reviewed: its roles stand, and `split` says which pairs cross
    out = tmp_path / "split.json"
    assert run_cli(monkeypatch, "split", str(busi_manifest.path), "--registry", "busi-v1", "--out", str(out)) == 0
    warned = capsys.readouterr().err
    assert "warning: registry busi-v1 puts 15 pairs of busbench's reviewed duplicates in two parts" in warned
    for pair in ("benign (403) (fold 3) / malignant (93) (test)", "benign (366) (fold 2) / benign (372) (test)",
                 "benign (394) (test) / benign (402) (fold 5)", "benign (398) (fold 1) / benign (405) (test)",
                 "malignant (132) (test) / malignant (133) (fold 2)"):
        assert pair in warned
