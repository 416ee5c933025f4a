"""Regenerate ``src/busbench/data/duplicates/reviewed_cases.csv``: the content fingerprint of every
case named in ``reviewed_pairs.csv``, so that the reviewed pairs apply to any copy of those images
(another adapter, renamed files, another resolution) and not only to case ids of the shipped layout.

Usage: ``python benchmarks/reviewed_cases.py [DATA_DIR]`` (default ``$BUSBENCH_DATA`` or
``../shared/data``). Prepares BUSI and BUS-BRA with their adapters in a temporary folder and writes
one row per reviewed case: dataset, case_id, pixel_sha256, width, height, thumbnail. The file's
checksum is part of every split's settings: regenerate it only when the pairs change.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from busbench.data.duplicates.reviewed import REVIEWED_CASE_COLUMNS, REVIEWED_CASES, reviewed_pairs
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset

FOLDERS = {"busi": "Dataset_BUSI_with_GT", "busbra": "BUSBRA"}


def reviewed_case_rows(data: Path, work: Path) -> pd.DataFrame:
    """The fingerprints of every reviewed case, from the datasets under ``data``."""
    pairs = reviewed_pairs()
    found = []
    for dataset, folder in FOLDERS.items():
        named = set(pairs.loc[pairs["dataset"] == dataset, ["case_a", "case_b"]].to_numpy().ravel())
        prepare_dataset(dataset, data / folder, work / dataset)
        frame = load_manifest(work / dataset).frame
        rows = frame[frame["case_id"].isin(named)]
        missing = sorted(named - set(rows["case_id"]))
        if missing:
            raise SystemExit(f"{data / folder}: reviewed cases {missing[:5]} not found; is this the shipped dataset?")
        found.append(rows.assign(dataset=dataset)[list(REVIEWED_CASE_COLUMNS)])
    return pd.concat(found).sort_values(["dataset", "case_id"], ignore_index=True)


def main() -> None:
    default = Path(os.environ.get("BUSBENCH_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    with tempfile.TemporaryDirectory(prefix="busbench-reviewed-") as work:
        rows = reviewed_case_rows(data, Path(work))
    rows.to_csv(REVIEWED_CASES, index=False, lineterminator="\n")
    print(f"{REVIEWED_CASES}: {len(rows)} reviewed cases ({rows['dataset'].value_counts().to_dict()})")


if __name__ == "__main__":
    main()
