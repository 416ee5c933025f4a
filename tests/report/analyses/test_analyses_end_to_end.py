"""`busbench run` on a tiny two-model grid, then `busbench report`: the analyses' files exist with
their columns, and their numbers trace back to the data (shapes to regionprops of the manifest's
masks, subgroup n to the split's test set, calibration pixels to the test images)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage.measure import regionprops

from busbench import pipeline
from busbench.config import GridConfig, load_config
from busbench.data.manifest import load_manifest
from busbench.data.split.split_file import read_split
from busbench.errors import BusbenchError
from busbench.metrics.shape import SHAPE_COLUMNS
from busbench.report.build import build_report
from busbench.report.scored_sets import predicts_lesion


@pytest.fixture(scope="module")
def grid_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("grid")
    cfg = load_config(None, [
        "name=tiny", f"output_dir={root}", "data.dataset=synthetic", "data.options.count=40", "data.options.size=40",
        "data.options.seed=1", "split.folds=2", "input.size=32", "train.epochs=1", "train.batch_size=8",
    ])
    models = [{"name": "unet", "kwargs": {"base_channels": 4}}, {"name": "unet", "kwargs": {"base_channels": 2}}]
    pipeline.run_experiment(cfg.model_copy(update={"grid": GridConfig.model_validate({"models": models})}))
    build_report(root, root / "report", qualitative=False)
    return root, root / "report"


def test_the_three_csvs_exist_with_their_columns(grid_report) -> None:
    _, out = grid_report
    detection = pd.read_csv(out / "detection.csv")
    assert {"model", "variant", "sensitivity", "sensitivity_ci_low", "specificity", "specificity_ci_high", "auroc",
            "auroc_ci_low", "auroc_ci_high", "auroc_note"} <= set(detection.columns)
    assert set(detection["variant"]) == {"fold models", "ensemble", "ensemble + post-processing"}
    assert detection["auroc"].notna().all()  # max_prob is recorded by every scoring pass
    subgroups = pd.read_csv(out / "subgroups.csv")
    assert {"factor", "subgroup", "images", "units", "dice_mean", "dice_ci_low", "hd95_mean"} <= set(subgroups.columns)
    assert {"class", "lesion size"} <= set(subgroups["factor"])
    morphology = pd.read_csv(out / "morphology.csv")
    assert {"model", "variant", "fold", "case_id", *SHAPE_COLUMNS} <= set(morphology.columns)
    summary = pd.read_csv(out / "morphology_summary.csv")
    assert set(summary["descriptor"]) == {"depth_width", "circularity", "elongation", "area", "centroid_error",
                                          "taller than wide"}
    calibration = pd.read_csv(out / "calibration.csv")
    assert calibration["ece"].between(0, 1).all() and calibration["brier"].between(0, 1).all()
    assert list(out.glob("plots/*_reliability.pdf")) and list(out.glob("plots/*_subgroups.pdf"))
    page = (out / "report.html").read_text()
    assert "Image-level lesion detection" in page and "Calibration of the ensemble" in page


def test_values_trace_back_to_the_data(grid_report) -> None:
    root, out = grid_report
    data_dir = next((root / "data").iterdir())
    manifest = load_manifest(data_dir)
    split = next(data_dir.glob("split-*.json"))
    test_ids = read_split(split, manifest).held_out()
    rows = manifest.frame.set_index("case_id", drop=False)
    lesion_ids = [c for c in test_ids if manifest.lesion(rows.loc[c]).any()]
    morphology = pd.read_csv(out / "morphology.csv", dtype={"case_id": str})
    assert set(morphology["case_id"]) == set(lesion_ids)
    for case_id, shapes in morphology.groupby("case_id"):
        region = regionprops(manifest.lesion(rows.loc[case_id]).astype(np.uint8))[0]
        height, width = region.bbox[2] - region.bbox[0], region.bbox[3] - region.bbox[1]
        assert shapes["true_area"].to_numpy() == pytest.approx(region.area)
        circularity = 4 * np.pi * region.area / region.perimeter**2
        assert shapes["true_depth_width"].to_numpy() == pytest.approx(height / width, abs=1e-6)  # CSVs hold 6 decimals
        assert shapes["true_circularity"].to_numpy() == pytest.approx(circularity, abs=1e-6)
    subgroups = pd.read_csv(out / "subgroups.csv")
    by_class = subgroups[(subgroups["factor"] == "class") & (subgroups["variant"] == "fold models")]
    expected = rows.loc[lesion_ids, "label"].value_counts()
    for _, row in by_class.iterrows():
        assert row["images"] == expected[row["subgroup"]]
    cell = next(p.parent for p in root.glob("tiny/*/*/ensemble_calibration.csv"))
    counts = pd.read_csv(cell / "ensemble_calibration.csv", dtype={"case_id": str})
    assert counts["pixels"].sum() == sum(manifest.lesion(rows.loc[c]).size for c in test_ids)
    fold = pd.read_csv(cell / "fold-1" / "test_metrics.csv", dtype={"case_id": str}, keep_default_na=False)
    # no post-processing on a fold model: a lesion pixel is predicted exactly where max_prob reaches the threshold
    assert (predicts_lesion(fold) == (fold["max_prob"].astype(float) >= 0.5)).all()


def test_every_figure_and_analysis_table_says_which_images_it_covers(grid_report) -> None:
    root, out = grid_report
    data_dir = next((root / "data").iterdir())
    manifest = load_manifest(data_dir)
    test_ids = read_split(next(data_dir.glob("split-*.json")), manifest).held_out()
    rows = manifest.frame.set_index("case_id", drop=False)
    lesion = sum(bool(manifest.lesion(rows.loc[c]).any()) for c in test_ids)  # by hand, from the masks
    assert 0 < lesion < len(test_ids)
    page = (out / "report.html").read_text()
    figures = re.findall(r"<figure>.*?</figure>", page, re.S)
    assert len(figures) == len(list(out.glob("plots/*.png")))
    captions = {re.search(r'alt="([^"]+)"', f)[1]: re.search(r"<figcaption class='note'>(.*?)</figcaption>", f)[1]
                for f in figures}  # each figure has its caption (else None[1] fails)
    for kind in ("dice forest", "dice boxplot", "dice vs cost", "subgroups"):
        assert f"lesion images only, n = {lesion}" in captions[kind], kind
    assert f"every pixel of all {len(test_ids)} test images, lesion and normal" in captions["reliability"]
    assert "(no test image)" in captions["training"]
    listed = re.findall(r"^- `([^`]+)` \(and `\.pdf`\): (.+)$", (out / "plots" / "captions.md").read_text(), re.M)
    assert sorted(name for name, _ in listed) == sorted(p.name for p in out.glob("plots/*.png"))
    # each analysis table on the page is followed by its note, which opens with the images it covers
    for heading, after in re.findall(r"<h4>(.*?)</h4>(.*?)(?=<h4>|<h3>|<h2>|$)", page, re.S):
        assert "<p class='note'>Images: " in after, heading
    for name in ("subgroups", "subgroup_comparisons", "detection", "morphology", "morphology_summary", "calibration",
                 "calibration_bins", "analysis_comparisons"):
        assert (out / f"{name}.md").read_text().splitlines()[-1].startswith("Images: "), name


@pytest.mark.parametrize(("edit", "message"), [
    (lambda counts: counts.iloc[:-1], "does not hold the 9 test ids of the split once each: 1 missing"),
    (lambda counts: counts.assign(pixels=counts["pixels"] - (counts.index == 0)), "bins that do not add up to the "
     "pixels for 1 image"),
])
def test_a_cut_or_edited_calibration_file_is_refused_by_the_report(grid_report, tmp_path: Path, edit,
                                                                   message: str) -> None:
    root, _ = grid_report
    copy = tmp_path / "grid"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("report"))
    path = next(copy.glob("tiny/*/*/ensemble_calibration.csv"))
    edit(pd.read_csv(path, dtype={"case_id": str})).to_csv(path, index=False)
    with pytest.raises(BusbenchError, match=rf"{path}: {message}.*Delete .*ensemble_metrics.csv"):
        build_report(copy, tmp_path / "report", qualitative=False)
