"""Metrics tables checked against the test set they claim to score, wherever they are read.

A results file cut short or with a row pasted twice still parses, and its mean is then a
plausible wrong number (the issue's case: an ensemble table cut to 2 of 17 rows moved Dice from
0.828 to 0.706 while the note still said "17 images"). Every reader (the pipeline's aggregation,
``busbench report``, ``busbench delta``) passes each table through ``check_test_ids``: each group
of rows (a fold, a variant) must hold every test id of the split exactly once. Before that,
``complete_csv`` refuses a file cut in the middle of a row: every busbench CSV ends in a line
end and has as many fields on each row as in its header, and a cut row would otherwise parse with
empty cells that surface later as a pandas error or a "mixed splits" complaint.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from pathlib import Path

import pandas as pd

from busbench.data.provenance import MEANINGS
from busbench.errors import BusbenchError
from busbench.log import counted
from busbench.metrics.per_image import CSV_MISSING, NSD_TOLERANCE

SHOWN_IDS = 3


def _examples(ids: Collection[str]) -> str:
    return f" (e.g. {', '.join(sorted(ids)[:SHOWN_IDS])})" if ids else ""


def complete_csv(path: Path, fix: str) -> io.StringIO:
    """A table busbench wrote, to parse, refused in one line ending in ``fix`` if it was cut or is no CSV."""
    try:
        text = Path(path).read_text()
        rows = list(csv.reader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BusbenchError(f"{path}: damaged (not a CSV table: {exc}). {fix}") from exc
    if not rows:
        raise BusbenchError(f"{path}: empty; the file was cut. {fix}")
    uneven = [f"line {line} has {len(row)} fields where the header has {len(rows[0])}"
              for line, row in enumerate(rows, start=1) if len(row) != len(rows[0])]
    if not text.endswith("\n") or uneven:
        where = "ends in the middle of a row" if not text.endswith("\n") else uneven[0]
        raise BusbenchError(f"{path}: {where}; the file was cut (an interrupted copy or a full disk) or edited. {fix}")
    return io.StringIO(text)


def read_metrics_table(path: Path, fix: str) -> pd.DataFrame:
    """A metrics table (``complete_csv``), case ids and provenance checksums as text, empty metrics missing;
    refused without NSD and its tolerance (scored before busbench measured NSD: scoring again adds them)."""
    table = pd.read_csv(complete_csv(path, fix), dtype={"case_id": str, **dict.fromkeys(MEANINGS, str)},
                        keep_default_na=False, na_values=CSV_MISSING)
    absent = [name for name in ("nsd", NSD_TOLERANCE) if name not in table.columns]
    if absent:
        raise BusbenchError(f"{path}: no {' or '.join(absent)} column (scored before busbench measured NSD, or "
                            f"edited). {fix}")
    return table


def check_test_ids(table: pd.DataFrame, path: Path, test_ids: Collection[str], fix: str,
                   by: Sequence[str] = ()) -> None:
    """Refuse ``table`` unless each of its groups (rows sharing the ``by`` columns, or the whole
    table) holds each of ``test_ids`` once and nothing else."""
    expected = {str(c) for c in test_ids}
    groups = table.groupby(list(by), sort=False) if by else [((), table)]
    for key, rows in groups:
        ids = rows["case_id"].astype(str)
        duplicated = set(ids[ids.duplicated()])
        missing, extra = expected - set(ids), set(ids) - expected
        if missing or extra or duplicated:
            keys = key if isinstance(key, tuple) else (key,)
            where = f" ({', '.join(f'{c} {v}' for c, v in zip(by, keys, strict=True))})" if by else ""
            problems = [f"{len(missing)} missing{_examples(missing)}" if missing else "",
                        f"{len(extra)} extra{_examples(extra)}" if extra else "",
                        f"{len(duplicated)} listed twice{_examples(duplicated)}" if duplicated else ""]
            raise BusbenchError(f"{path}{where}: does not hold the {len(expected)} test ids of the split once each: "
                                f"{', '.join(p for p in problems if p)}; the file was cut or edited. {fix}")


def check_cross_table(table: pd.DataFrame, path: Path, overlap_path: Path, fix: str) -> None:
    """A cross-dataset table against its overlap record (``cross_dataset_overlap.csv``): per (test
    dataset, fold), the other dataset's test ids, less those dropped as seen in training, once each.

    That test set is the first fold's ids plus its dropped ones; it must have as many ids as the
    record says, and every other fold must hold the same ones.
    """
    if not overlap_path.is_file():
        raise BusbenchError(f"{overlap_path}: missing beside {path.name}, so its test ids cannot be checked. {fix}")
    overlap = pd.read_csv(overlap_path, dtype=str, keep_default_na=False)
    for dataset, of_dataset in table.groupby("test_dataset", sort=False):
        test_set: set[str] | None = None
        for fold, rows in of_dataset.groupby("fold", sort=False):
            record = overlap[(overlap["test_dataset"].astype(str) == str(dataset))
                             & (overlap["fold"].astype(str) == str(fold))]
            if len(record) != 1:
                raise BusbenchError(f"{path}: fold {fold} on {dataset} has no row in {overlap_path}. {fix}")
            seen = set(str(record["case_ids"].iloc[0]).split())
            dropped = seen if record["handling"].iloc[0] == "drop" else set()
            if test_set is None:
                test_set = set(rows["case_id"].astype(str)) | dropped
            recorded = int(record["test_images"].iloc[0])
            if len(test_set) != recorded:
                raise BusbenchError(f"{path} (test_dataset {dataset}): {len(test_set)} test ids where {overlap_path} "
                                    f"records {recorded}; the file was cut or edited. {fix}")
            check_test_ids(rows, path, test_set - dropped, fix, by=["test_dataset", "fold"])


def check_binned_counts(counts: pd.DataFrame, path: Path, test_ids: Collection[str], fix: str,
                        image_pixels: pd.Series | None = None) -> None:
    """A table of several rows per image (``ensemble_calibration.csv``: one per probability bin) against
    the test set: every test id and nothing else, no (image, bin) twice, and, where the images' sizes
    are known (``image_pixels``: case_id -> height x width), each image's rows adding up to all its
    pixels (a file cut between two rows of one image keeps its ids but loses pixels)."""
    pairs = counts[["case_id", "bin"]].astype(str)
    repeated = set(pairs.loc[pairs.duplicated(), "case_id"])
    if repeated:
        raise BusbenchError(f"{path}: one probability bin listed twice for {counted(len(repeated), 'image')}"
                            f"{_examples(repeated)}; "
                            f"the file was edited. {fix}")
    check_test_ids(counts.drop_duplicates("case_id"), path, test_ids, fix)
    if image_pixels is None:
        return
    totals = counts.groupby(counts["case_id"].astype(str))["pixels"].sum()
    expected = image_pixels.reindex(totals.index)
    short = set(totals.index[expected.notna() & (totals != expected)])
    if short:
        raise BusbenchError(f"{path}: bins that do not add up to the pixels for {counted(len(short), 'image')}"
                            f"{_examples(short)}; "
                            f"the file was cut or edited. {fix}")
