"""Adapters on the real BUSI and BUS-BRA copies beside the checkout (../shared/data)."""

from __future__ import annotations

import json

import numpy as np

from busbench.data.io import read_mask
from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings, plan_split


def test_busi_counts_labels_and_keeps_normal_images(busi_manifest: Manifest) -> None:
    frame = busi_manifest.frame
    assert len(frame) == 780
    assert frame["label"].value_counts().to_dict() == {"benign": 437, "malignant": 210, "normal": 133}
    normal = frame[frame["label"] == "normal"]
    assert (normal["lesion_area_fraction"] == 0).all()
    assert (frame.loc[frame["label"] != "normal", "lesion_area_fraction"] > 0).all()
    assert (frame["patient_id"] == "").all()  # BUSI gives no patients


def test_busi_extra_masks_are_merged_into_one_lesion(busi_manifest: Manifest) -> None:
    frame = busi_manifest.frame
    mask_lists = frame["mask_paths"].map(json.loads)
    multi = frame[mask_lists.map(len) > 1]
    assert len(multi) == 17
    assert mask_lists.map(len).sum() == 780 + 18
    row = frame.set_index("case_id").loc["benign (4)"]  # one of its extra masks is RGBA
    paths = [busi_manifest.root / p for p in json.loads(row["mask_paths"])]
    assert any(p.name == "benign (4)_mask_1.png" for p in paths)
    union = np.logical_or.reduce([read_mask(p).lesion for p in paths])
    single = read_mask(paths[0]).lesion
    assert union.sum() > single.sum()
    assert np.isclose(row["lesion_area_fraction"], union.mean(), atol=1e-8)


def test_busi_known_duplicate_pair_shares_pixels_and_split_side(busi_manifest: Manifest) -> None:
    frame = busi_manifest.frame.set_index("case_id")
    a, b = frame.loc["malignant (145)"], frame.loc["benign (433)"]
    assert a["pixel_sha256"] == b["pixel_sha256"]
    assert a["label"] != b["label"]
    document = plan_split(busi_manifest, SplitSettings())
    roles = {c.case_id: c for c in document.cases}
    first, second = roles["malignant (145)"], roles["benign (433)"]
    assert first.group == second.group
    assert (first.set, first.fold) == (second.set, second.fold)


def test_busbra_counts_patients_and_official_folds(busbra_manifest: Manifest) -> None:
    frame = busbra_manifest.frame
    assert len(frame) == 1875
    assert frame["label"].value_counts().to_dict() == {"benign": 1268, "malignant": 607}
    assert frame["patient_id"].nunique() == 1064
    assert (frame["lesion_area_fraction"] > 0).all()
    assert sorted(frame["official_fold"].unique().tolist()) == [1, 2, 3, 4, 5]
    row = frame.set_index("case_id").loc["bus_0001-l"]
    assert row["patient_id"] == "1" and row["label"] == "malignant"
    assert row["meta_histology"] == "invasive ductal carcinoma" and str(row["meta_birads"]) == "4"
    assert row["official_fold"] == 3 and str(row["meta_official_fold_10"]) == "9"


def test_busbra_official_partition_is_patient_wise(busbra_manifest: Manifest) -> None:
    folds_per_patient = busbra_manifest.frame.groupby("patient_id")["official_fold"].nunique()
    assert (folds_per_patient == 1).all()
    document = plan_split(busbra_manifest, SplitSettings(official=True, official_test_fold=5))
    cases = document.cases_frame().set_index("case_id")
    official = busbra_manifest.frame.set_index("case_id")["official_fold"]
    assert set(cases.index[cases["set"] == "test"]) == set(official.index[official == 5])
    assert document.folds == 4
    assert sorted(cases["fold"].dropna().unique().tolist()) == [1, 2, 3, 4]
