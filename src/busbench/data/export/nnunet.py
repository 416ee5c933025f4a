"""``busbench export nnunet``: a prepared dataset in nnU-Net v2's raw format, on busbench's split.

nnU-Net then trains on busbench's development cases with busbench's folds (``splits_final.json``)
and predicts the same held-out test set, which ``busbench score`` scores like any zoo model.

Layout (nnU-Net's documentation/dataset_format.md)::

    Dataset<ID>_<name>/
        imagesTr/<id>_0000.png   development images, grey
        labelsTr/<id>.png        their masks, uint8 0/1
        imagesTs/<id>_0000.png   held-out test images
        dataset.json             channel_names, labels, numTraining, file_ending
        splits_final.json        busbench's folds, in fold order: copy to nnUNet_preprocessed/Dataset<ID>_<name>/
        case_ids.csv             nnU-Net identifier -> busbench case id, set, fold

Case ids such as ``benign (12)`` hold spaces and brackets, so every case gets an identifier
``<name>_<nnnn>`` (its position in the manifest's natural order); ``case_ids.csv`` maps it back,
and ``busbench score --case-map`` reads nnU-Net's predictions through it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from busbench.data.export.held_out import SplitData, empty_folder
from busbench.data.split.record import CV, TEST
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_csv, write_json, write_png
from busbench.progress import progress

CASE_MAP_CSV = "case_ids.csv"
NNUNET_ID, CASE_ID = "nnunet_id", "case_id"
SAFE_NAME = re.compile(r"[A-Za-z0-9]+")


def nnunet_ids(data: SplitData, name: str) -> pd.DataFrame:
    """nnunet_id, case_id, set, fold for every case, in the manifest's order."""
    fold_of = data.split.development()
    test = set(data.split.held_out())
    rows = [{NNUNET_ID: f"{name}_{i:04d}", CASE_ID: case_id, "set": TEST if case_id in test else CV,
             "fold": "" if case_id in test else fold_of[case_id]}
            for i, case_id in enumerate(data.manifest.frame["case_id"], start=1)]
    return pd.DataFrame(rows)


def export_nnunet(data: SplitData, raw_dir: Path, dataset_id: int, name: str) -> Path:
    """Write ``Dataset<ID>_<name>`` under ``raw_dir``; returns its folder."""
    if not 1 <= dataset_id <= 999:
        raise BusbenchError(f"--dataset-id {dataset_id}: nnU-Net ids have three digits (1-999; use 500 or more "
                            "for your own datasets)")
    if not SAFE_NAME.fullmatch(name):
        raise BusbenchError(f"--name {name!r}: use letters and digits only (it becomes part of nnU-Net's folder and "
                            "file names)")
    folder = empty_folder(Path(raw_dir) / f"Dataset{dataset_id:03d}_{name}")
    for sub in ("imagesTr", "labelsTr", "imagesTs"):
        (folder / sub).mkdir()
    cases = nnunet_ids(data, name)
    for case in progress(cases.itertuples(index=False), "export nnunet: writing images", total=len(cases)):
        image, lesion = data.pair(str(case.case_id))
        if case.set == TEST:
            write_png(image, folder / "imagesTs" / f"{case.nnunet_id}_0000.png")
            continue
        write_png(image, folder / "imagesTr" / f"{case.nnunet_id}_0000.png")
        write_png(lesion.astype("uint8"), folder / "labelsTr" / f"{case.nnunet_id}.png")
    development = cases[cases["set"] == CV]
    write_json({
        "channel_names": {"0": "ultrasound"},
        "labels": {"background": 0, "lesion": 1},
        "numTraining": len(development),
        "file_ending": ".png",
        "name": name,
        "description": f"busbench export of {data.manifest.dataset}: development cases of {data.split_path.name}; "
                       "imagesTs is its held-out test set",
    }, folder / "dataset.json", sort_keys=False)
    folds = sorted(development["fold"].unique())
    splits = [{"train": development.loc[development["fold"] != k, NNUNET_ID].tolist(),
               "val": development.loc[development["fold"] == k, NNUNET_ID].tolist()} for k in folds]
    write_json(splits, folder / "splits_final.json", sort_keys=False, indent=1)
    write_csv(cases, folder / CASE_MAP_CSV, float_format=None)
    return folder
