"""Adapters for datasets not available here, on fixtures in their authors' exact layouts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layouts import cases, make_bus_uc, make_bus_uclm, make_busi, make_pairs, make_udiat, mask_u8, save

from busbench.data.adapters import ADAPTERS, build_adapter
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.errors import BusbenchError


def test_bus_uclm_reads_bom_semicolon_info_colour_masks_and_patients(tmp_path: Path) -> None:
    expected = make_bus_uclm(tmp_path / "uclm")
    result = prepare_dataset("bus_uclm", tmp_path / "uclm", tmp_path / "out")
    frame = result.frame.set_index("case_id")
    dropped = Path(expected["dropped"]).stem
    assert len(frame) == 5 and dropped not in frame.index
    for name, case in zip(expected["names"], expected["cases"]):
        if Path(name).stem == dropped:
            continue
        row = frame.loc[Path(name).stem]
        assert row["label"] == case.label
        assert row["patient_id"] == name[:4]
        assert np.isclose(row["lesion_area_fraction"], case.mask.mean())
    assert frame["patient_id"].nunique() == 3
    assert frame.loc["ALWI_000", "meta_doppler"] == "No"
    assert not frame["image_resized_to_mask"].any()


def test_bus_uclm_rgba_image_of_another_crop_is_dropped_with_advice(tmp_path: Path) -> None:
    expected = make_bus_uclm(tmp_path / "uclm")
    problems = prepare_dataset("bus_uclm", tmp_path / "uclm", tmp_path / "out").log.problems
    assert [(p.action, p.reason.split(":")[0]) for p in problems] == [("dropped", "size mismatch")]
    assert problems[0].file.endswith(expected["dropped"])
    h, w = expected["cases"][1].mask.shape
    assert f"image {2 * w}x{3 * h // 2} vs mask {w}x{h}" in problems[0].reason
    assert "report this exclusion" in problems[0].reason and "re-export" not in problems[0].reason


def test_bus_uc_reads_both_classes_with_reused_names(tmp_path: Path) -> None:
    data = make_bus_uc(tmp_path / "data")
    frame = prepare_dataset("bus_uc", tmp_path / "data", tmp_path / "out").frame
    assert len(frame) == len(data) == 6
    assert frame["case_id"].is_unique
    assert sorted(frame["label"]) == sorted(c.label for c in data)
    assert {"benign_001", "malignant_001"} <= set(frame["case_id"])


def test_bus_uc_logs_unknown_class_and_sub_folders(tmp_path: Path) -> None:
    data = make_bus_uc(tmp_path / "data")
    base = tmp_path / "data" / "BUS_UC"
    save(base / "Normal" / "images" / "001.png", data[0].image)  # a class the layout does not have
    save(base / "Benign" / "overlays" / "001.png", data[0].image)  # a third folder beside images/ and masks/
    result = prepare_dataset("bus_uc", tmp_path / "data", tmp_path / "out")
    assert len(result.frame) == len(data)
    logged = {(Path(p.file).relative_to(base).as_posix(), p.action, p.reason.split(":")[0])
              for p in result.log.problems}
    assert logged == {("Normal", "dropped", "unknown class folder"), ("Benign/overlays", "dropped", "unknown folder")}


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
    with pytest.raises(BusbenchError, match=r"dataset 'busx' is unknown; did you mean busi.*\? choose one of "
                                            "bus_uc, bus_uclm, busbra, busi"):
        build_adapter("busx")
    with pytest.raises(BusbenchError, match=r"mask_sufix.*valid options: name, images_dir, masks_dir, mask_suffix"):
        build_adapter("folder", {"mask_sufix": "_m"})
    with pytest.raises(BusbenchError, match="count"):
        build_adapter("synthetic", {"count": "many"})
    assert {"busi", "busbra", "bus_uclm", "bus_uc", "udiat", "folder", "synthetic"} <= set(ADAPTERS)


@pytest.mark.parametrize("dataset", ["busi", "busbra", "bus_uclm", "bus_uc", "udiat", "folder"])
def test_wrong_root_says_what_layout_is_expected(tmp_path: Path, dataset: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BusbenchError, match=str(tmp_path / "empty")):
        prepare_dataset(dataset, tmp_path / "empty", tmp_path / "out")


def _flat_folder(root: Path, count: int) -> list:
    """One flat folder of ``Test_Image_N.png`` with ``mask_N.png``, N = 1..count, plus a stray file."""
    data = cases(count, seed=21)
    for n, case in enumerate(data, start=1):
        save(root / f"Test_Image_{n}.png", case.image)
        save(root / f"mask_{n}.png", mask_u8(case.mask))
    save(root / "thumbnail.png", data[0].image)
    return data


def test_folder_pairs_a_flat_folder_by_templates_in_natural_order(tmp_path: Path) -> None:
    data = _flat_folder(tmp_path / "mine", 11)
    result = prepare_dataset("folder", tmp_path / "mine", tmp_path / "out",
                             {"image": "Test_Image_{id}.png", "mask": "mask_{id}.png", "name": "clinic_a"})
    written = pd.read_csv(tmp_path / "out" / "manifest.csv", dtype=str)
    assert written["case_id"].tolist() == [str(n) for n in range(1, 12)]  # 1, 2, ..., 10, 11
    assert set(written["dataset"]) == {"clinic_a"}
    row = written.set_index("case_id").loc["10"]
    assert row["image_path"] == "Test_Image_10.png" and json.loads(row["mask_paths"]) == ["mask_10.png"]
    assert np.isclose(float(row["lesion_area_fraction"]), data[9].mask.mean())
    assert [(Path(p.file).name, p.reason.split(":")[0]) for p in result.log.problems] == [
        ("thumbnail.png", "unpaired file")]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["dataset"] == "clinic_a"


def test_folder_pairs_subfolders_by_regex_and_merges_several_masks(tmp_path: Path) -> None:
    data = [c for c in cases(8, seed=22) if c.label != "normal"][:3]
    root = tmp_path / "mine"
    for n, case in enumerate(data):
        save(root / "img" / f"case{n}.png", case.image)
        half = case.mask.copy()
        half[: half.shape[0] // 2] = False
        save(root / "gt" / f"case{n}_seg.png", mask_u8(case.mask & ~half))
        save(root / "gt" / f"case{n}_seg2.png", mask_u8(half))
    frame = prepare_dataset("folder", root, tmp_path / "out", {
        "image_regex": r"img/case(?P<id>\d+)\.png", "mask_regex": r"gt/case(?P<id>\d+)_seg\d*\.png",
    }).frame.set_index("case_id")
    assert list(frame.index) == ["0", "1", "2"]
    for n, case in enumerate(data):
        assert json.loads(frame.loc[str(n), "mask_paths"]) == [f"gt/case{n}_seg.png", f"gt/case{n}_seg2.png"]
        assert np.isclose(frame.loc[str(n), "lesion_area_fraction"], case.mask.mean())  # the union of both


def test_a_busi_copy_without_normal_is_read_by_the_folder_command_its_error_gives(tmp_path: Path) -> None:
    data = [c for c in cases(12, seed=24) if c.label != "normal"]
    base = make_busi(tmp_path / "copy", data)
    (base / "normal").rmdir()
    with pytest.raises(BusbenchError, match="no normal/ folder") as refused:
        prepare_dataset("busi", tmp_path / "copy", tmp_path / "out")
    command = shlex.split(str(refused.value))
    options = dict(command[i + 1].split("=", 1) for i, word in enumerate(command) if word == "-o")
    root = Path(command[command.index("--root") + 1])
    frame = prepare_dataset("folder", root, tmp_path / "out", options).frame.set_index("case_id")
    assert root == base and len(frame) == len(data)
    assert {cid: frame.loc[cid, "label"] for cid in frame.index} == {
        f"{c.label} ({i})": c.label for i, c in enumerate(data, start=1)}
    assert set(frame["label"]) == {"benign", "malignant"}


def test_a_label_group_naming_no_known_class_drops_the_case(tmp_path: Path) -> None:
    data = [c for c in cases(12, seed=25) if c.label != "normal"][:2]
    for folder, case in zip(("benign", "cysts"), data):
        save(tmp_path / "mine" / folder / "a.png", case.image)
        save(tmp_path / "mine" / folder / "a_mask.png", mask_u8(case.mask))
    result = prepare_dataset("folder", tmp_path / "mine", tmp_path / "out", {
        "image_regex": r"(?P<id>(?P<label>\w+)/\w)\.png", "mask_regex": r"(?P<id>\w+/\w)_mask\.png"})
    assert result.frame["label"].tolist() == ["benign"]
    assert [(Path(p.file).parent.name, p.reason) for p in result.log.problems] == [
        ("cysts", r"unknown label: 'cysts' in the label group of image_regex='(?P<id>(?P<label>\w+)/\w)\.png'")]


def test_folder_pairs_from_a_csv_with_labels_and_patients(tmp_path: Path) -> None:
    data = [c for c in cases(8, seed=23) if c.label != "normal"][:3]
    root = tmp_path / "mine"
    rows = []
    for n, case in enumerate(data):
        save(root / "a" / f"scan{n}.png", case.image)
        save(root / "b" / f"{n}.png", mask_u8(case.mask))
        rows.append((f"a/scan{n}.png", f"b/{n}.png", case.label, f"P{n // 2}"))
    rows.append(("a/missing.png", "b/9.png", "benign", "P9"))
    pd.DataFrame(rows, columns=["image", "mask", "label", "patient_id"]).to_csv(root / "list.csv", index=False)
    result = prepare_dataset("folder", root, tmp_path / "out", {"pairs_csv": "list.csv"})
    frame = result.frame.set_index("case_id")
    assert frame["label"].tolist() == [c.label for c in data]
    assert frame["patient_id"].tolist() == ["P0", "P0", "P1"]
    assert [p.reason.split(":")[0] for p in result.log.problems] == ["listed file not found"]


@pytest.mark.parametrize(("options", "message"), [
    ({"image": "{id}.png"}, "give both"),
    ({"image": "x.png", "mask": "m_{id}.png"}, "exactly once"),
    ({"image_regex": r"(\d+)\.png", "mask_regex": r"m(?P<id>\d+)\.png"}, "named group"),
    ({"image": "{id}.png", "mask": "m{id}.png", "pairs_csv": "l.csv"}, "choose one way of pairing"),
    ({"name": "my data"}, "names cache folders"),
    ({"image_regex": r"(?P<label>\w+)/(?P<id>\d+)\.png", "mask_regex": r"m(?P<id>\d+)\.png", "labels_csv": "l.csv"},
     "drop labels_csv, or the group"),
])
def test_folder_pairing_options_are_checked(options: dict[str, object], message: str) -> None:
    with pytest.raises(BusbenchError, match=message):
        build_adapter("folder", options)


def test_failed_pairing_writes_the_problems_and_names_them(tmp_path: Path) -> None:
    _flat_folder(tmp_path / "mine", 3)
    with pytest.raises(BusbenchError) as caught:
        prepare_dataset("folder", tmp_path / "mine", tmp_path / "out",
                        {"image": "Image_{id}.png", "mask": "mask_{id}.png"})  # a typo: no image matches
    message = str(caught.value)
    problems = pd.read_csv(tmp_path / "out" / "prepare_problems.csv")
    reasons = problems["reason"].str.split(":").str[0].value_counts().to_dict()
    assert reasons == {"unpaired file": 3 + 1, "mask without image": 3}  # 3 images and the thumbnail; 3 masks
    assert str(tmp_path / "out" / "prepare_problems.csv") in message
    assert "Test_Image_1.png: unpaired file" in message and "pairing options" in message
    assert "authors distribute" not in message
