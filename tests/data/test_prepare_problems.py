"""Bad input never crashes nor passes silently: each problem is dropped or fixed, by file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layouts import cases, make_busi, make_pairs, mask_u8, save
from PIL import Image

from busbench.data.duplicates.links import DuplicateSettings, duplicate_links
from busbench.data.manifest import load_manifest
from busbench.data.prepare import PROBLEMS_CSV, prepare_dataset
from busbench.errors import BusbenchError


@pytest.fixture()
def broken_busi(tmp_path: Path) -> Path:
    """A BUSI layout with one of each problem next to good cases."""
    data = [c for c in cases(16, seed=11)]
    base = make_busi(tmp_path / "data", data)
    benign = [c for c in data if c.label == "benign"]
    (base / "benign" / "benign (90).png").write_bytes(b"corrupt")           # unreadable image
    save(base / "benign" / "benign (90)_mask.png", mask_u8(benign[0].mask))
    save(base / "benign" / "benign (91).png", benign[0].image)              # image without mask
    save(base / "benign" / "benign (92)_mask.png", mask_u8(benign[0].mask))  # mask without image
    grey = benign[0].mask.astype(np.uint8) * 200 + 30                        # non-binary mask (3 values)
    grey[0, 0] = 100
    save(base / "benign" / "benign (93).png", benign[0].image)
    save(base / "benign" / "benign (93)_mask.png", grey)
    wide = np.zeros((benign[0].image.shape[0], benign[0].image.shape[1] * 2), np.uint8)
    save(base / "benign" / "benign (94).png", wide)                           # different aspect ratio
    save(base / "benign" / "benign (94)_mask.png", mask_u8(benign[0].mask))
    save(base / "normal" / "normal (95).png", benign[0].image)                # normal with a lesion
    save(base / "normal" / "normal (95)_mask.png", mask_u8(benign[0].mask))
    (base / "normal" / "notes.txt").write_text("not an image")
    return tmp_path / "data"


def test_each_problem_is_logged_with_its_file_and_good_cases_are_kept(broken_busi: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(broken_busi) for p in broken_busi.rglob("*"))
    result = prepare_dataset("busi", broken_busi, tmp_path / "out")
    log = {(Path(p.file).name, p.action, p.reason.split(":")[0]) for p in result.log.problems}
    assert log == {
        ("benign (90).png", "dropped", "unreadable image"),
        ("benign (91).png", "dropped", "image without mask"),
        ("benign (92)_mask.png", "dropped", "mask without image"),
        ("benign (93)_mask.png", "fixed", "non-binary mask"),
        ("benign (94).png", "dropped", "size mismatch"),
        ("normal (95)_mask.png", "dropped", "label/mask conflict"),
        ("notes.txt", "dropped", "not an image file"),
    }
    orphan = next(p.reason for p in result.log.problems if p.reason.startswith("mask without image"))
    assert orphan == "mask without image: no image named benign (92).* (restore the image, or remove the mask)"
    threshold = next(p.reason for p in result.log.problems if p.action == "fixed")
    assert "thresholded at 128" in threshold
    assert len(result.frame) == 16 + 1  # the 16 good cases and the fixed one
    written = pd.read_csv(tmp_path / "out" / PROBLEMS_CSV)
    assert len(written) == len(result.log.problems) and set(written.columns) == {"file", "action", "reason"}
    assert sorted(p.relative_to(broken_busi) for p in broken_busi.rglob("*")) == before  # nothing written there


def test_output_inside_the_dataset_is_refused(broken_busi: Path) -> None:
    with pytest.raises(BusbenchError, match="inside the dataset folder"):
        prepare_dataset("busi", broken_busi, broken_busi / "manifest")


def test_a_folder_holding_another_datasets_manifest_is_refused_and_the_same_dataset_prepared_again(
        broken_busi: Path, tmp_path: Path) -> None:
    out = tmp_path / "work" / "busi"
    prepare_dataset("busi", broken_busi, out)
    manifest = (out / "manifest.csv").read_text()
    with pytest.raises(BusbenchError, match=rf"--out {out} holds the manifest of dataset 'busi' \(with its splits and "
                                            rf"cache\); prepare synthetic into another folder, or delete {out} first"):
        prepare_dataset("synthetic", tmp_path / "raw", out, {"count": 4, "size": 32})
    assert (out / "manifest.csv").read_text() == manifest  # untouched
    assert len(prepare_dataset("busi", broken_busi, out).frame) == 17  # the same dataset again: allowed


def test_unknown_label_is_dropped_with_its_value(tmp_path: Path) -> None:
    root = tmp_path / "pairs"
    make_pairs(root, cases(3, seed=12))
    (root / "labels.csv").write_text("image,label\nimg0.png,benign\nimg1.png,atypical\nimg2.png,normal\n")
    result = prepare_dataset("folder", root, tmp_path / "out", {"labels_csv": "labels.csv"})
    dropped = [p for p in result.log.problems if p.action == "dropped"]
    assert any("unknown label: 'atypical'" in p.reason and p.file.endswith("img1.png") for p in dropped)


def test_masks_of_different_sizes_for_one_image_are_dropped(tmp_path: Path) -> None:
    case = [c for c in cases(8, seed=13) if c.label != "normal"][0]
    base = make_busi(tmp_path / "data", [case])
    stem = f"{case.label} (1)"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(base / case.label / f"{stem}_mask_1.png")
    make_busi(tmp_path / "data", [])  # keeps the class folders
    save(base / "normal" / "normal (2).png", case.image)
    save(base / "normal" / "normal (2)_mask.png", np.zeros(case.image.shape, np.uint8))
    result = prepare_dataset("busi", tmp_path / "data", tmp_path / "out")
    assert [p.reason.split(":")[0] for p in result.log.problems] == ["mask size mismatch"]
    assert result.frame["case_id"].tolist() == ["normal (2)"]


def test_a_dataset_with_no_usable_case_is_an_error(tmp_path: Path) -> None:
    base = make_busi(tmp_path / "data", [])
    (base / "benign" / "benign (1).png").write_bytes(b"junk")
    with pytest.raises(BusbenchError, match="no usable busi cases"):
        prepare_dataset("busi", tmp_path / "data", tmp_path / "out")


def _busi_with_gaps(root: Path) -> list:
    """Three lesion cases: (1) complete _mask + _mask_1, (2) only _mask_1, (3) _mask and _mask_2."""
    data = [c for c in cases(12, seed=14) if c.label != "normal"][:3]
    base = make_busi(root, data)
    for i, case in enumerate(data, start=1):
        folder, stem = base / case.label, f"{case.label} ({i})"
        save(folder / f"{stem}_mask_{2 if i == 3 else 1}.png", mask_u8(case.mask))
        if i == 2:
            (folder / f"{stem}_mask.png").unlink()
    return data


def test_a_gap_in_a_busi_mask_series_drops_the_case(tmp_path: Path) -> None:
    data = _busi_with_gaps(tmp_path / "data")
    result = prepare_dataset("busi", tmp_path / "data", tmp_path / "out")
    assert result.frame["case_id"].tolist() == [f"{data[0].label} (1)"]
    gaps = {Path(p.file).name: p.reason for p in result.log.problems}
    assert set(gaps) == {f"{data[1].label} (2).png", f"{data[2].label} (3).png"}
    assert f"{data[1].label} (2)_mask missing" in gaps[f"{data[1].label} (2).png"]
    assert f"{data[2].label} (3)_mask_1 missing" in gaps[f"{data[2].label} (3).png"]
    assert all(p.action == "dropped" and "allow_mask_gaps" in p.reason for p in result.log.problems)


def test_a_busi_mask_gap_is_kept_and_logged_when_allowed(tmp_path: Path) -> None:
    _busi_with_gaps(tmp_path / "data")
    result = prepare_dataset("busi", tmp_path / "data", tmp_path / "out", {"allow_mask_gaps": True})
    assert len(result.frame) == 3
    assert [(p.action, p.reason.split(":")[0]) for p in result.log.problems] == [("fixed", "mask series gap")] * 2


def test_a_layout_error_still_writes_the_problem_file(tmp_path: Path) -> None:
    (tmp_path / "mine" / "images").mkdir(parents=True)
    with pytest.raises(BusbenchError, match="masks: not found"):
        prepare_dataset("folder", tmp_path / "mine", tmp_path / "out")
    assert list(pd.read_csv(tmp_path / "out" / PROBLEMS_CSV).columns) == ["file", "action", "reason"]


def test_skipped_folders_are_logged_and_a_stray_file_does_not_take_a_pair(tmp_path: Path) -> None:
    data = [c for c in cases(12, seed=5)]
    base = make_busi(tmp_path / "data", data)
    benign = next(c for c in data if c.label == "benign")
    save(base / "benign" / "extra" / "benign (80).png", benign.image)        # a sub-folder
    save(base / "benign" / "extra" / "benign (80)_mask.png", mask_u8(benign.mask))
    save(base / "unsure" / "unsure (1).png", benign.image)                   # an unknown class folder
    (first,) = [p for p in (base / "benign").glob("benign (*).png") if "_mask" not in p.name][:1]
    save(first.with_suffix(".tif"), benign.image)                            # a stray file of its stem
    result = prepare_dataset("busi", tmp_path / "data", tmp_path / "out")
    log = {(Path(p.file).name, p.reason.split(":")[0]) for p in result.log.problems}
    assert ("extra", "sub-folder") in log and ("unsure", "unknown class folder") in log
    assert first.with_suffix(".tif").name in {name for name, _ in log}
    kept = set(result.frame["image_path"].map(lambda p: Path(p).name))
    assert first.name in kept and len(result.frame) == len(data)
    problems = pd.read_csv(tmp_path / "out" / PROBLEMS_CSV)
    assert {"extra", "unsure"} <= set(problems["file"].map(lambda p: Path(p).name))


@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 40), (40, 1)])
def test_an_image_smaller_than_the_duplicate_search_reads_is_dropped_by_name(tmp_path: Path, width: int,
                                                                             height: int) -> None:
    """ORB's pyramid (8 levels, 1.2 apart) rounds a 1 px side to 0 px, which OpenCV refuses in
    `split`; 2 px, the smallest side it reads, is kept and searched."""
    root = tmp_path / "mine"
    make_pairs(root, cases(3, seed=15))
    for name, shape in (("thin", (height, width)), ("two", (2, 2))):
        save(root / "images" / f"{name}.png", np.full(shape, 90, np.uint8))
        save(root / "masks" / f"{name}.png", np.full(shape, 255, np.uint8))
    result = prepare_dataset("folder", root, tmp_path / "out")
    problems = pd.read_csv(tmp_path / "out" / PROBLEMS_CSV)
    assert problems.values.tolist() == [[str(root / "images" / "thin.png"), "dropped",
                                         f"image too small: {width}x{height} px (width x height); the duplicate "
                                         f"search needs at least 2 px a side: re-export the image at its full size"]]
    assert set(result.frame["case_id"]) == {"img0", "img1", "img2", "two"}
    assert duplicate_links(load_manifest(tmp_path / "out"), DuplicateSettings()).empty
