"""Metrics tables must hold each test id once: cut, padded or duplicated tables are refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from busbench.errors import BusbenchError
from busbench.evaluate.table_checks import check_binned_counts, check_cross_table, check_test_ids, read_metrics_table

IDS = [f"c{i}" for i in range(17)]


def _table(ids: list[str], **columns: object) -> pd.DataFrame:
    return pd.DataFrame({"case_id": ids, "dice": 0.5, **columns})


def test_a_complete_table_passes_per_group() -> None:
    both = pd.concat([_table(IDS, variant="ensemble"), _table(IDS, variant="ensemble + post-processing")])
    check_test_ids(both, Path("e.csv"), IDS, "fix", by=["variant"])


@pytest.mark.parametrize(("ids", "message"), [
    (IDS[:2], r"e.csv: does not hold the 17 test ids of the split once each: 15 missing \(e.g. c10, c11, c12\)"),
    ([*IDS, "x"], r"1 extra \(e.g. x\)"),
    ([*IDS, IDS[0]], r"1 listed twice \(e.g. c0\)"),
])
def test_cut_padded_or_duplicated_tables_are_refused_with_counts(ids: list[str], message: str) -> None:
    with pytest.raises(BusbenchError, match=message + r".*cut or edited. Delete e.csv"):
        check_test_ids(_table(ids), Path("e.csv"), IDS, "Delete e.csv")


def test_one_short_group_is_named() -> None:
    table = pd.concat([_table(IDS, variant="ensemble"), _table(IDS[1:], variant="ensemble + post-processing")])
    with pytest.raises(BusbenchError, match=r"\(variant ensemble \+ post-processing\): .*1 missing \(e.g. c0\)"):
        check_test_ids(table, Path("e.csv"), IDS, "fix", by=["variant"])


def test_cross_tables_allow_the_dropped_seen_ids_only(tmp_path: Path) -> None:
    overlap = tmp_path / "overlap.csv"
    pd.DataFrame({"test_dataset": ["b", "b"], "fold": [1, 2], "test_images": [17, 17], "seen_in_training": [1, 0],
                  "handling": "drop", "case_ids": ["c0", ""]}).to_csv(overlap, index=False)
    table = pd.concat([_table(IDS[1:], test_dataset="b", fold=1), _table(IDS, test_dataset="b", fold=2)])
    check_cross_table(table, tmp_path / "x.csv", overlap, "fix")
    cut = pd.concat([_table(IDS[1:], test_dataset="b", fold=1), _table(IDS[3:], test_dataset="b", fold=2)])
    with pytest.raises(BusbenchError, match=r"x.csv \(test_dataset b, fold 2\): .*3 missing"):
        check_cross_table(cut, tmp_path / "x.csv", overlap, "fix")
    first_cut = pd.concat([_table(IDS[4:], test_dataset="b", fold=1), _table(IDS, test_dataset="b", fold=2)])
    with pytest.raises(BusbenchError, match=r"x.csv \(test_dataset b\): 14 test ids where .*overlap.csv records 17"):
        check_cross_table(first_cut, tmp_path / "x.csv", overlap, "fix")


def _bins(ids: list[str]) -> pd.DataFrame:
    """Two bins per 4 x 4 image: 10 + 6 pixels."""
    return pd.DataFrame({"case_id": [c for c in ids for _ in range(2)], "bin": [0, 9] * len(ids),
                         "pixels": [10, 6] * len(ids)})


PIXELS = pd.Series(16, index=IDS)


def test_complete_bin_counts_pass() -> None:
    check_binned_counts(_bins(IDS), Path("cal.csv"), IDS, "fix", PIXELS)


@pytest.mark.parametrize(("counts", "message"), [
    (_bins(IDS).iloc[:-1], r"cal.csv: bins that do not add up to the pixels for 1 image \(e.g. c16\)"),
    (_bins(IDS).iloc[:-2], r"cal.csv: does not hold the 17 test ids .*1 missing \(e.g. c16\)"),
    (pd.concat([_bins(IDS), _bins(IDS[:1]).iloc[:1]]),
     r"cal.csv: one probability bin listed twice for 1 image \(e.g. c0\)"),
    (_bins([*IDS, "x"]), r"1 extra \(e.g. x\)"),
])
def test_cut_or_edited_bin_counts_are_refused(counts: pd.DataFrame, message: str) -> None:
    with pytest.raises(BusbenchError, match=message + r".*Delete e.csv"):
        check_binned_counts(counts, Path("cal.csv"), IDS, "Delete e.csv", PIXELS)


def test_without_image_sizes_a_row_cut_inside_an_image_is_not_seen() -> None:
    check_binned_counts(_bins(IDS).iloc[:-1], Path("cal.csv"), IDS, "fix")  # only the sizes can tell


def test_a_metrics_table_reads_ids_and_checksums_as_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("case_id,dice,hd95,nsd,nsd_tolerance,split_sha256\n007,0.5,,0.75,2.0,1234\n")
    table = read_metrics_table(path, "fix")
    assert table["case_id"].tolist() == ["007"] and table["split_sha256"].tolist() == ["1234"]
    assert table["hd95"].isna().all() and table["dice"].tolist() == [0.5]


@pytest.mark.parametrize("header", ["case_id,dice,hd95", "case_id,dice,hd95,nsd", "case_id,dice,hd95,nsd_tolerance"])
def test_a_metrics_table_scored_before_nsd_is_refused_with_the_fix(tmp_path: Path, header: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f"{header}\n" + ",".join(["007"] + ["0.5"] * header.count(",")) + "\n")
    with pytest.raises(BusbenchError, match=rf"{path}: no nsd.* column \(scored before busbench measured NSD.* Delete"):
        read_metrics_table(path, "Delete it and run again")


@pytest.mark.parametrize(("text", "message"), [
    ("case_id,dice,split_sha256\nc0,0.5,ab\nc1,0.4", r"ends in the middle of a row"),
    ("case_id,dice,split_sha256\nc0,0.5,ab\nc1,0.4\n", r"line 3 has 2 fields where the header has 3"),
    ("", r"empty"),
])
def test_a_metrics_table_cut_inside_a_row_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(BusbenchError, match=rf"{path}: {message}.*the file was cut.* Delete it") as error:
        read_metrics_table(path, "Delete it")
    assert "\n" not in str(error.value)
