"""Adapters for datasets not available here, on fixtures in their authors' exact layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layouts import cases, make_bus_uc, make_bus_uclm, make_pairs, make_udiat

from busbench.data.adapters import ADAPTERS, build_adapter
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.errors import BusbenchError


def test_bus_uclm_reads_bom_semicolon_info_colour_masks_and_patients(tmp_path: Path) -> None:
    expected = make_bus_uclm(tmp_path / "uclm")
    result = prepare_dataset("bus_uclm", tmp_path / "uclm", tmp_path / "out")
    frame = result.frame.set_index("case_id")
    assert len(frame) == 6
    for name, case in zip(expected["names"], expected["cases"]):
        row = frame.loc[Path(name).stem]
        assert row["label"] == case.label
        assert row["patient_id"] == name[:4]
        assert np.isclose(row["lesion_area_fraction"], case.mask.mean())
    assert frame["patient_id"].nunique() == 3
    assert frame.loc["ALWI_000", "meta_doppler"] == "No"
    resized = Path(expected["resized"]).stem
    assert bool(frame.loc[resized, "image_resized_to_mask"])
    assert [(p.action, p.reason.split(":")[0]) for p in result.log.problems] == [("fixed", "size mismatch")]
    assert expected["resized"] in result.log.problems[0].file


def test_bus_uc_reads_both_classes_with_reused_names(tmp_path: Path) -> None:
    data = make_bus_uc(tmp_path / "data")
    frame = prepare_dataset("bus_uc", tmp_path / "data", tmp_path / "out").frame
    assert len(frame) == len(data) == 6
    assert frame["case_id"].is_unique
    assert sorted(frame["label"]) == sorted(c.label for c in data)
    assert {"benign_001", "malignant_001"} <= set(frame["case_id"])


def test_udiat_matches_numeric_excel_names_to_zero_padded_files(tmp_path: Path) -> None:
    data = make_udiat(tmp_path / "udiat")
    frame = prepare_dataset("udiat", tmp_path / "udiat", tmp_path / "out").frame.set_index("case_id")
    assert list(frame.index) == [f"{i:06d}" for i in range(1, len(data) + 1)]
    assert frame["label"].tolist() == [c.label for c in data]


def test_folder_adapter_with_suffix_and_labels_csv(tmp_path: Path) -> None:
    data = cases(5, seed=4)
    root = tmp_path / "pairs"
    names = make_pairs(root, data, mask_suffix="_seg")
    pd.DataFrame({"image": names, "label": [c.label for c in data],
                  "patient_id": [c.patient_id for c in data]}).to_csv(root / "labels.csv", index=False)
    frame = prepare_dataset("folder", root, tmp_path / "out",
                            {"mask_suffix": "_seg", "labels_csv": "labels.csv"}).frame.set_index("case_id")
    assert frame["label"].tolist() == [c.label for c in data]
    assert frame["patient_id"].tolist() == [c.patient_id for c in data]
    assert json.loads(frame.loc["img0", "mask_paths"]) == ["masks/img0_seg.png"]


def test_folder_adapter_without_labels_derives_normal_or_lesion(tmp_path: Path) -> None:
    data = cases(6, seed=6)
    root = tmp_path / "pairs"
    make_pairs(root, data)
    frame = prepare_dataset("folder", root, tmp_path / "out").frame
    expected = ["normal" if c.label == "normal" else "lesion" for c in data]
    assert frame.sort_values("case_id")["label"].tolist() == expected


def test_synthetic_adapter_is_deterministic_and_reuses_its_folder(tmp_path: Path) -> None:
    options = {"count": 12, "size": 32, "seed": 9}
    prepare_dataset("synthetic", tmp_path / "raw", tmp_path / "a", options)
    first = (tmp_path / "a" / "manifest.csv").read_bytes()
    prepare_dataset("synthetic", tmp_path / "raw2", tmp_path / "b", options)
    assert (tmp_path / "b" / "manifest.csv").read_bytes() == first
    assert load_manifest(tmp_path / "a").sha256 == load_manifest(tmp_path / "b").sha256


def test_synthetic_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("keep me")
    with pytest.raises(BusbenchError, match="not empty and not a synthetic dataset"):
        prepare_dataset("synthetic", tmp_path / "mine", tmp_path / "out", {"count": 4})
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "keep me"


def test_unknown_adapter_and_bad_options_are_named() -> None:
    with pytest.raises(BusbenchError, match=r"unknown dataset 'busx'.*busi"):
        build_adapter("busx")
    with pytest.raises(BusbenchError, match=r"mask_sufix.*valid options: images_dir, masks_dir, mask_suffix"):
        build_adapter("folder", {"mask_sufix": "_m"})
    with pytest.raises(BusbenchError, match="count"):
        build_adapter("synthetic", {"count": "many"})
    assert {"busi", "busbra", "bus_uclm", "bus_uc", "udiat", "folder", "synthetic"} <= set(ADAPTERS)


@pytest.mark.parametrize("dataset", ["busi", "busbra", "bus_uclm", "bus_uc", "udiat", "folder"])
def test_wrong_root_says_what_layout_is_expected(tmp_path: Path, dataset: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BusbenchError, match=str(tmp_path / "empty")):
        prepare_dataset(dataset, tmp_path / "empty", tmp_path / "out")
