"""busbench audit on a dataset with each finding planted at a known case."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli


def _flagged(table: pd.DataFrame, column: str) -> set[str]:
    return set(table.loc[table[column].astype(bool), "case_id"])


def test_exact_copy_under_two_labels_is_a_conflict_and_a_group(audited: tuple[Path, dict[str, str]]) -> None:
    out, _ = audited
    conflicts = pd.read_csv(out / "label_conflicts.csv")
    assert conflicts.to_dict("records") == [{"case_a": "copy", "label_a": "malignant", "case_b": "orig",
                                             "label_b": "benign", "measure": "identical pixels", "value": 0.0}]
    groups = pd.read_csv(out / "duplicate_groups.csv")
    copy_group = groups.loc[groups["case_id"] == "orig", "group"].item()
    assert set(groups.loc[groups["group"] == copy_group, "case_id"]) == {"copy", "orig"}
    assert not {"view1", "view2"} & set(groups["case_id"])  # one patient's two views: not duplicates
    summary = pd.read_csv(out / "summary.csv").set_index("finding")["count"]
    assert summary["patient-only groups"] == 1 and summary["label conflicts"] == 1


def test_mask_findings_are_exactly_the_planted_cases(audited: tuple[Path, dict[str, str]]) -> None:
    out, planted = audited
    masks = pd.read_csv(out / "masks.csv", dtype={"case_id": str})
    assert _flagged(masks, "touches_border") == {"border"}
    assert _flagged(masks, "tiny") == {"tiny"}
    assert _flagged(masks, "multi_component") == {"two"}
    assert masks.set_index("case_id").loc["two", "components"] == 2
    assert _flagged(masks, "size_outlier") == {"wide"}  # 64 x 160: 2.5 x the median area
    assert _flagged(masks, "aspect_outlier") == {"wide"}
    assert masks.set_index("case_id").loc["tiny", "lesion_fraction"] == pytest.approx(4 / 64**2, abs=1e-6)
    assert set(masks["case_id"]) == set(planted)


def test_overlays_are_exactly_the_planted_cases(audited: tuple[Path, dict[str, str]]) -> None:
    out, _ = audited
    overlays = pd.read_csv(out / "overlays.csv", dtype={"case_id": str})
    assert _flagged(overlays, "marks") == {"marks"}
    assert _flagged(overlays, "doppler") == {"doppler"}
    assert _flagged(overlays, "touches_lesion") == {"marks", "doppler"}
    assert overlays.set_index("case_id").loc["marks", "mark_blobs"] == 4


def test_balance_counts_every_case_once_per_part(audited: tuple[Path, dict[str, str]]) -> None:
    out, planted = audited
    balance = pd.read_csv(out / "balance_split.csv").set_index("part")
    assert list(balance.index) == ["test", "fold 1", "fold 2"]
    assert balance["images"].sum() == len(planted)
    assert balance["benign"].sum() == 6 and balance["malignant"].sum() == 4 and balance["normal"].sum() == 1


def test_cli_writes_into_out_and_names_a_missing_manifest(audited: tuple[Path, dict[str, str]], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = audited[0].parent
    assert run_cli(monkeypatch, "audit", str(data), "--out", str(tmp_path / "elsewhere")) == 0
    printed = capsys.readouterr().out
    assert "reading 11 images" in printed and str(tmp_path / "elsewhere" / "audit.html") in printed.replace("\n", "")
    assert (tmp_path / "elsewhere" / "masks.csv").is_file()
    assert run_cli(monkeypatch, "audit", str(tmp_path / "nothing")) == 2
    assert "no manifest here" in capsys.readouterr().err
