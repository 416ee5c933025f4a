"""The report's analyses on result folders with known values: detection against scikit-learn,
subgroup n against the manifest, morphology statistics against scipy and scikit-learn, the
bootstrap draws against ``bootstrap_ci``, and older runs reported as "not recorded"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import write_run
from pdflatex_check import compile_log, overfull_boxes
from scipy import stats
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from busbench.metrics.shape import SHAPE_COLUMNS
from busbench.report.analyses.comparisons import wilcoxon_rows
from busbench.report.analyses.morphology import cohen_kappa
from busbench.report.build import build_report
from busbench.report.statistics.intervals_and_tests import bootstrap_ci, cluster_draw_weights

LABELS = ["benign"] * 9 + ["malignant"] * 6 + ["normal"] * 5
IDS = [f"c{i:02d}" for i in range(len(LABELS))]
GROUPS = [i // 2 for i in range(len(LABELS))]  # pairs of images of one patient
DEVICES = ["GE"] * 8 + ["Toshiba"] * 7 + ["GE"] * 5
RNG = np.random.default_rng(7)


def _dice(center: float) -> list[float]:
    values = np.clip(RNG.normal(center, 0.15, len(LABELS)), 0.05, 1).round(4)
    values[15:] = 1.0  # normal images predicted empty ...
    return values.tolist()


def _with_columns(cell: Path, fold: int) -> pd.DataFrame:
    """Add max_prob and shape columns to one fold's scores, as `busbench run` now writes them."""
    path = cell / f"fold-{fold}" / "test_metrics.csv"
    frame = pd.read_csv(path, dtype={"case_id": str}, keep_default_na=False)
    lesion = np.array([label != "normal" for label in frame["label"]])
    frame["max_prob"] = np.where(lesion, RNG.uniform(0.3, 1.0, len(frame)), RNG.uniform(0.0, 0.7, len(frame)))
    for name, scale in (("depth_width", 0.4), ("circularity", 0.2), ("elongation", 0.8), ("area", 300.0)):
        true = 1.0 + scale * np.arange(len(frame)) / len(frame)
        frame[f"true_{name}"] = np.where(lesion, true, np.nan)
        frame[f"pred_{name}"] = np.where(lesion, true + RNG.normal(0, scale / 4, len(frame)), np.nan)
    frame["centroid_error"] = np.where(lesion, RNG.uniform(0, 5, len(frame)), np.nan)
    frame.loc[~lesion & (frame["case_id"] == "c17"), "empty_case"] = "false_alarm"  # ... but one
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture()
def results(tmp_path: Path) -> tuple[Path, dict[str, list[pd.DataFrame]]]:
    root = tmp_path / "runs"
    scores = {}
    for model, center in (("model_a", 0.8), ("model_b", 0.6)):
        cell = write_run(root, "busi", model, {1: _dice(center), 2: _dice(center)}, LABELS, groups=GROUPS,
                         case_ids=IDS)
        scores[model] = [_with_columns(cell, fold) for fold in (1, 2)]
    _write_manifest(root)
    return root, scores


def _write_manifest(root: Path) -> None:
    """The manifest `busbench run` leaves in <output_dir>/data/<dataset>/, with BUS-BRA-like meta columns."""
    data = root / "data" / "busi"
    data.mkdir(parents=True)
    lesion_area = [0.01 * (i + 1) if label != "normal" else 0.0 for i, label in enumerate(LABELS)]
    pd.DataFrame({"case_id": IDS, "label": LABELS, "width": 40, "height": 30, "lesion_area_fraction": lesion_area,
                  "meta_device": DEVICES, "meta_official_fold_10": [i % 5 for i in range(len(IDS))],
                  "meta_histology": [f"h{i}" for i in range(len(IDS))]}).to_csv(data / "manifest.csv", index=False)


def test_detection_matches_scikit_learn_and_counts(results, tmp_path) -> None:
    root, scores = results
    build_report(root, tmp_path / "out", qualitative=False)
    detection = pd.read_csv(tmp_path / "out" / "detection.csv").set_index("model")
    assert {"variant", "sensitivity", "specificity", "auroc", "auroc_ci_low", "auroc_ci_high",
            "lesion_images", "normal_images"} <= set(detection.columns)
    for model, folds in scores.items():
        row = detection.loc[f"UNeXt ({model})"]  # every fake run is a UNeXt: told apart by its key
        lesion = np.array([label != "normal" for label in LABELS])
        expected = np.mean([roc_auc_score(lesion, fold["max_prob"]) for fold in folds])
        assert row["auroc"] == pytest.approx(expected)
        assert row["auroc_ci_low"] <= row["auroc"] <= row["auroc_ci_high"]
        assert (row["lesion_images"], row["normal_images"]) == (15, 5)
        assert row["specificity"] == pytest.approx(4 / 5)  # c17 is a false alarm in both folds
        assert row["sensitivity"] == pytest.approx(1.0)


def test_subgroup_n_follows_the_manifest(results, tmp_path) -> None:
    root, _ = results
    build_report(root, tmp_path / "out", qualitative=False)
    subgroups = pd.read_csv(tmp_path / "out" / "subgroups.csv")
    assert {"factor", "subgroup", "model", "variant", "images", "units", "dice_mean", "dice_ci_low", "hd95_mean",
            "hd95_ci_high"} <= set(subgroups.columns)
    manifest = pd.read_csv(root / "data" / "busi" / "manifest.csv")
    lesions = manifest[manifest["label"] != "normal"]
    a = subgroups[subgroups["model"] == "UNeXt (model_a)"]
    assert set(a["factor"]) == {"class", "lesion size", "device"}  # fold and 15-valued columns are no subgroups
    for factor, column in (("class", "label"), ("device", "meta_device")):
        counted = a[a["factor"] == factor].set_index("subgroup")["images"].to_dict()
        assert counted == lesions[column].value_counts().to_dict()
    sizes = a[a["factor"] == "lesion size"]
    assert sizes["images"].tolist() == [5, 5, 5]
    assert sizes["subgroup"].str.startswith("small").sum() == 1
    small = sizes[sizes["subgroup"].str.startswith("small")]["subgroup"].iloc[0]
    assert small == "small (1-61 px)"  # the true_area column of the 5 smallest lesions
    comparisons = pd.read_csv(tmp_path / "out" / "subgroup_comparisons.csv")
    for _, family in comparisons.groupby(["factor", "metric"]):  # Holm over the subgroups of one analysis
        ordered = family.sort_values("p_value")
        assert ordered["p_holm"].iloc[0] == pytest.approx(min(1.0, len(family) * ordered["p_value"].iloc[0]))
    tex = tmp_path / "out" / "subgroups.tex"
    rows = subgroups[subgroups["variant"] == "fold models"]
    # a line per row and one for its CIs, a line naming each model, the header (its titles stacked inside one line)
    ended = [line for line in tex.read_text().splitlines() if line.endswith("\\\\")]
    assert len(ended) == 2 * len(rows) + rows["model"].nunique() + 1
    assert overfull_boxes(compile_log(tex, tmp_path / "latex")) == [], "subgroups.tex is wider than the page"
    assert (tmp_path / "out" / "plots" / "busi_subgroups.pdf").is_file()


def test_morphology_statistics_match_scipy(results, tmp_path) -> None:
    root, scores = results
    build_report(root, tmp_path / "out", qualitative=False)
    per_image = pd.read_csv(tmp_path / "out" / "morphology.csv")
    assert {"model", "variant", "fold", "case_id", *SHAPE_COLUMNS} <= set(per_image.columns)
    assert len(per_image) == 2 * 2 * 15  # two models x two fold models x lesion images
    summary = pd.read_csv(tmp_path / "out" / "morphology_summary.csv").set_index(["model", "descriptor"])
    folds = [f[f["label"] != "normal"] for f in scores["model_a"]]
    for name in ("depth_width", "circularity", "elongation", "area"):
        row = summary.loc[("UNeXt (model_a)", name)]
        pearson = np.mean([stats.pearsonr(f[f"true_{name}"], f[f"pred_{name}"])[0] for f in folds])
        spearman = np.mean([stats.spearmanr(f[f"true_{name}"], f[f"pred_{name}"])[0] for f in folds])
        mae = np.mean([np.mean(np.abs(f[f"pred_{name}"] - f[f"true_{name}"])) for f in folds])
        assert (row["pearson"], row["spearman"], row["mae"]) == pytest.approx((pearson, spearman, mae), rel=1e-4)
        for test in ("pearson", "spearman"):  # the draws' statistics: against scipy in test_weighted_statistics
            assert -1 <= row[f"{test}_ci_low"] < row[f"{test}_ci_high"] <= 1
    taller = summary.loc[("UNeXt (model_a)", "taller than wide")]
    kappas = [cohen_kappa_score(f["true_depth_width"] > 1, f["pred_depth_width"] > 1) for f in folds]
    accuracy = np.mean([np.mean((f["true_depth_width"] > 1) == (f["pred_depth_width"] > 1)) for f in folds])
    assert taller["kappa"] == pytest.approx(np.mean(kappas))
    assert taller["accuracy"] == pytest.approx(accuracy)
    assert taller["kappa_ci_low"] < taller["kappa_ci_high"] <= 1


def test_paired_tests_of_the_analyses_match_scipy(results, tmp_path) -> None:
    root, scores = results
    report = build_report(root, tmp_path / "out", qualitative=False)
    compared = pd.read_csv(tmp_path / "out" / "analysis_comparisons.csv")
    folds = compared[compared["variant"] == "fold models"].set_index(["analysis", "measure"])
    units = pd.Series(GROUPS, index=IDS)
    errors = {}  # per lesion image: the absolute depth-to-width error averaged over the two fold models
    for model, frames in scores.items():
        both = pd.concat(frames)
        lesion = both[both["label"] != "normal"]
        error = (lesion["pred_depth_width"] - lesion["true_depth_width"]).abs()
        errors[model] = error.groupby(lesion["case_id"]).mean()
    per_unit = pd.DataFrame(errors).groupby(units).mean()
    expected = stats.wilcoxon(per_unit["model_a"] - per_unit["model_b"]).pvalue
    row = folds.loc[("morphology", "depth_width")]
    assert (row["model_a"], row["model_b"]) == ("UNeXt (model_a)", "UNeXt (model_b)")
    assert row["p_value"] == pytest.approx(expected)
    assert row["difference"] == pytest.approx((per_unit["model_a"] - per_unit["model_b"]).mean(), abs=1e-6)
    assert row["units"] == 8  # the 15 lesion images belong to 8 patients
    assert folds.loc[("detection", "sensitivity"), "p_value"] == 1.0  # both models find every lesion
    morphology = folds.loc["morphology"]  # Holm over the six measures of one analysis and row type
    assert morphology["p_holm"].min() == pytest.approx(min(1.0, 6 * morphology["p_value"].min()))
    detection = pd.read_csv(tmp_path / "out" / "detection.csv").set_index(["model", "variant"])
    auroc = folds.loc[("detection", "auroc")]
    assert auroc["test"] == "paired cluster bootstrap" and 0 < auroc["p_value"] <= 1
    assert auroc["difference"] == pytest.approx(detection.loc[("UNeXt (model_a)", "fold models"), "auroc"]
                                                - detection.loc[("UNeXt (model_b)", "fold models"), "auroc"], abs=1e-6)
    assert "calibration" not in set(compared["analysis"])  # no ensemble_calibration.csv in these runs
    assert "Paired tests of detection, morphology and calibration" in (report.out / "report.html").read_text()


def test_cohen_kappa_matches_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        a, b = rng.random(30) > 0.4, rng.random(30) > 0.5
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert np.isnan(cohen_kappa(np.ones(4, bool), np.ones(4, bool)))


def test_draw_weights_are_the_draws_of_bootstrap_ci() -> None:
    values = np.random.default_rng(2).random(12)
    clusters = np.repeat(np.arange(6), 2)
    weights = cluster_draw_weights(clusters, resamples=500)
    means = (weights @ values) / weights.sum(axis=1)
    assert tuple(np.percentile(means, [2.5, 97.5])) == pytest.approx(bootstrap_ci(values, clusters, resamples=500))


def test_runs_without_the_new_columns_say_not_recorded(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "old", {1: _dice(0.7), 2: _dice(0.7)}, LABELS, case_ids=IDS)
    _write_manifest(root)
    report = build_report(root, tmp_path / "out", qualitative=False)
    sizes = pd.read_csv(tmp_path / "out" / "subgroups.csv").query("factor == 'lesion size'")
    assert sizes["subgroup"].iloc[0] == "small (12-60 px)"  # without true_area: the manifest's fraction x 40 x 30
    detection = pd.read_csv(tmp_path / "out" / "detection.csv")
    assert np.isnan(detection["auroc"].iloc[0]) and detection["auroc_note"].iloc[0].startswith("not recorded")
    assert detection["specificity"].iloc[0] == pytest.approx(1.0)
    assert pd.read_csv(tmp_path / "out" / "morphology.csv").empty
    calibration = pd.read_csv(tmp_path / "out" / "calibration.csv")
    assert calibration["note"].iloc[0].startswith("not recorded")
    page = (report.out / "report.html").read_text()
    assert "Image-level lesion detection" in page and "shapes not recorded" in page


def test_busbra_manifest_columns_become_subgroups(busbra_manifest, tmp_path) -> None:
    """The BUS-BRA adapter's manifest: device, BI-RADS and side are subgroups; histology (28 values),
    the 10-fold assignment and the original sizes are not."""
    frame = busbra_manifest.frame.sort_values("case_id").iloc[::25]  # 75 images of the real manifest
    ids, labels = frame["case_id"].tolist(), frame["label"].tolist()
    root = tmp_path / "runs"
    write_run(root, "busbra", "model_a", {1: [0.7] * len(ids)}, labels, case_ids=ids)
    (root / "data" / "busbra").mkdir(parents=True)
    busbra_manifest.frame.to_csv(root / "data" / "busbra" / "manifest.csv", index=False)
    build_report(root, tmp_path / "out", qualitative=False)
    subgroups = pd.read_csv(tmp_path / "out" / "subgroups.csv", dtype={"subgroup": str})
    assert set(subgroups["factor"]) == {"class", "lesion size", "device", "birads", "side"}
    for factor in ("device", "birads", "side"):
        counted = subgroups[subgroups["factor"] == factor].set_index("subgroup")["images"].to_dict()
        assert counted == frame[f"meta_{factor}"].astype(str).value_counts().to_dict()


def test_paired_analysis_differences_over_units_and_over_images() -> None:
    """Unit 'g1' holds three images, 'g2' one: the unit means weigh g2 as much as g1, the per-image
    difference (detection.csv's rates) weighs each image once."""
    clusters = pd.Series({"a": "g1", "b": "g1", "c": "g1", "d": "g2"})
    first = pd.Series({"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0})
    second = pd.Series({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0})
    row = wilcoxon_rows({"A": first, "B": second}, clusters).iloc[0]
    assert row["difference"] == pytest.approx(0.5) and row["difference_images"] == pytest.approx(0.75)
