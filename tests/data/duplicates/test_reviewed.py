"""The reviewed pairs apply by content: a manifest's cases are matched to the fingerprints shipped
in ``reviewed_cases.csv``, whatever its dataset name, case ids or resolution."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from busbench.data.duplicates.reviewed import (
    REVIEWED_CASE_COLUMNS,
    REVIEWED_CASES,
    REVIEWED_PAIRS,
    reviewed_cases,
    reviewed_duplicates,
    reviewed_pairs,
    reviewed_pairs_in,
)
from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings
from busbench.data.split.user_links import UserLinks


def _manifest(frame: pd.DataFrame) -> Manifest:
    return Manifest(Path("manifest.csv"), frame.reset_index(drop=True), Path("."), "0" * 64)


def _renamed(dataset: str) -> tuple[Manifest, dict[str, str]]:
    """A user's copy of the reviewed cases of ``dataset``: other case ids, another dataset name."""
    cases = reviewed_cases().query("dataset == @dataset").reset_index(drop=True)
    new_ids = {old: f"img{len(cases) - i:03d}" for i, old in enumerate(cases["case_id"])}
    frame = cases.assign(case_id=cases["case_id"].map(new_ids), dataset="mine")
    return _manifest(frame), new_ids


def _named_duplicates(dataset: str, new_ids: dict[str, str]) -> list[tuple[str, str]]:
    pairs = reviewed_pairs().query("dataset == @dataset and duplicate == 1")
    return sorted({tuple(sorted((new_ids[a], new_ids[b]))) for a, b in zip(pairs["case_a"], pairs["case_b"])})


def test_every_reviewed_case_has_one_fingerprint() -> None:
    cases = reviewed_cases()
    assert list(cases.columns) == list(REVIEWED_CASE_COLUMNS)
    assert not cases.duplicated(["dataset", "case_id"]).any()
    pairs = reviewed_pairs()
    named = {(d, c) for d, a, b in zip(pairs["dataset"], pairs["case_a"], pairs["case_b"]) for c in (a, b)}
    assert set(zip(cases["dataset"], cases["case_id"])) == named
    assert cases["pixel_sha256"].str.fullmatch("[0-9a-f]{64}").all()


@pytest.mark.parametrize("dataset", ["busi", "busbra"])
def test_reviewed_duplicates_apply_to_a_renamed_copy(dataset: str) -> None:
    manifest, new_ids = _renamed(dataset)
    assert reviewed_duplicates(manifest) == _named_duplicates(dataset, new_ids)
    negatives = reviewed_pairs_in(manifest).query("duplicate == 0")
    assert len(negatives) == len(reviewed_pairs().query("dataset == @dataset and duplicate == 0")) > 0
    assert set(negatives["case_a"]) | set(negatives["case_b"]) <= set(new_ids.values())


def test_reviewed_duplicates_apply_to_a_resampled_copy() -> None:
    """Other pixels (another resolution or encoding): the thumbnails still match."""
    manifest, new_ids = _renamed("busi")
    frame = manifest.frame.assign(pixel_sha256=[f"{i:064x}" for i in range(len(manifest.frame))])
    assert reviewed_duplicates(_manifest(frame)) == _named_duplicates("busi", new_ids)


def test_a_copy_holding_one_image_of_a_pair_gets_no_link() -> None:
    manifest, _ = _renamed("busi")
    second = reviewed_duplicates(manifest)[0][1]
    frame = manifest.frame[manifest.frame["case_id"] != second]
    found = reviewed_duplicates(_manifest(frame))
    assert found and all(second not in pair for pair in found)
    assert reviewed_duplicates(_manifest(manifest.frame.iloc[:0])) == []


def test_the_shipped_fingerprints_are_busis_own(busi_manifest: Manifest) -> None:
    frame = busi_manifest.frame.set_index("case_id")
    shipped = reviewed_cases().query("dataset == 'busi'").set_index("case_id")
    columns = ["pixel_sha256", "width", "height", "thumbnail"]
    pd.testing.assert_frame_equal(frame.loc[shipped.index, columns], shipped[columns], check_dtype=False)
    assert reviewed_duplicates(busi_manifest) == _named_duplicates("busi", {c: c for c in shipped.index})


def test_a_split_records_both_reviewed_files_by_checksum() -> None:
    recorded = SplitSettings().recorded(UserLinks())
    assert recorded["reviewed_pairs_sha256"] == file_sha256(REVIEWED_PAIRS)
    assert recorded["reviewed_cases_sha256"] == file_sha256(REVIEWED_CASES)
    assert "reviewed_cases_sha256" not in SplitSettings(reviewed_links=False).recorded(UserLinks())
