"""`busbench report` on result folders with known values: statistics match scipy, tables hold the numbers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from fake_results import LABELS, A, B, C, scores_around, write_run
from scipy import stats

from busbench.errors import BusbenchError
from busbench.report.build import build_report
from busbench.report.statistics.intervals_and_tests import (
    average_ranks,
    bootstrap_ci,
    critical_difference,
    holm,
    paired_comparisons,
    rank_biserial,
)


@pytest.fixture()
def results(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS)
    write_run(root, "busi", "model_b", B, LABELS)
    write_run(root, "busi", "model_c", C, LABELS)
    return root


def _fold_avg(scores: dict[int, list[float]]) -> np.ndarray:
    return np.mean([scores[1], scores[2]], axis=0)


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame indexed by display names ("UNeXt (model_a)": every fake run is a UNeXt) by run key."""
    return frame.rename(index=lambda title: title.removeprefix("UNeXt (").removesuffix(")"))


def test_tables_hold_mean_std_and_mark_the_best(results, tmp_path) -> None:
    report = build_report(results, tmp_path / "out", qualitative=False)
    table = _keys(report.tables["busi"].set_index("model"))
    fold_means = [np.mean(A[1][:8]), np.mean(A[2][:8])]  # the 8 lesion images
    assert table.loc["model_a", "dice_lesion_mean"] == pytest.approx(np.mean(fold_means))
    assert table.loc["model_a", "dice_lesion_std"] == pytest.approx(np.std(fold_means, ddof=1))
    low, high = bootstrap_ci(_fold_avg(A)[:8])
    assert (table.loc["model_a", "dice_lesion_ci_low"], table.loc["model_a", "dice_lesion_ci_high"]) == pytest.approx(
        (low, high))
    markdown = (tmp_path / "out" / "tables" / "busi_accuracy.md").read_text()
    best = f"**{table.loc['model_a', 'dice_lesion_mean']:.3f} ± {table.loc['model_a', 'dice_lesion_std']:.3f}**"
    assert best in markdown
    # these runs have no group column: the unit is the image (the 8 lesion images the CIs cover), and the table says so
    assert "CI: 95 % bootstrap over 8 images (no group column in the per-image CSVs" in markdown
    assert "degenerate" not in markdown
    latex = (tmp_path / "out" / "tables" / "busi_accuracy.tex").read_text()
    assert "\\toprule" in latex and "\\bottomrule" in latex and "\\textbf{" in latex and "model\\_a" in latex
    csv = pd.read_csv(tmp_path / "out" / "tables" / "busi.csv")
    assert set(csv["model"]) == {"UNeXt (model_a)", "UNeXt (model_b)", "UNeXt (model_c)"} and "gflops" in csv


def test_paired_tests_match_scipy_and_holm(results, tmp_path) -> None:
    report = build_report(results, tmp_path / "out", qualitative=False)
    comparisons = _keys(report.comparisons["busi"].set_index(["model_a", "model_b"]))
    a, b, c = _fold_avg(A)[:8], _fold_avg(B)[:8], _fold_avg(C)[:8]  # lesion images only
    raw = {("model_a", "model_b"): stats.wilcoxon(a, b).pvalue, ("model_a", "model_c"): stats.wilcoxon(a, c).pvalue,
           ("model_b", "model_c"): stats.wilcoxon(b, c).pvalue}
    for pair, p in raw.items():
        assert comparisons.loc[pair, "p_value"] == pytest.approx(p)
    ordered = sorted(raw.values())
    expected_min = min(1.0, 3 * ordered[0])
    assert comparisons["p_holm"].min() == pytest.approx(expected_min)
    matrix = _keys(report.p_values["busi"]).rename(columns=lambda t: t.removeprefix("UNeXt (").removesuffix(")"))
    expected = comparisons.loc[("model_a", "model_b"), "p_holm"]
    assert matrix.loc["model_a", "model_b"] == matrix.loc["model_b", "model_a"] == expected


def test_statistics_files_keep_their_row_labels(results, tmp_path) -> None:
    for name, scores in (("model_a", A), ("model_b", B), ("model_c", C)):
        write_run(results, "busbra", name, scores, LABELS)
    build_report(results, tmp_path / "out", qualitative=False)
    ranks = pd.read_csv(tmp_path / "out" / "statistics" / "average_ranks.csv")
    assert ranks.columns.tolist() == ["model", "average_rank"] and ranks["model"].iloc[0] == "UNeXt (model_a)"
    p_values = pd.read_csv(tmp_path / "out" / "statistics" / "busi_p_values.csv")
    assert p_values["model"].tolist() == ["UNeXt (model_a)", "UNeXt (model_b)", "UNeXt (model_c)"]
    markdown = (tmp_path / "out" / "statistics" / "busi_p_values.md").read_text()
    assert markdown.startswith("| Model | UNeXt (model_a) | UNeXt (model_b) |")  # names kept, not "Unext (model a)"
    assert "| Average rank |" in (tmp_path / "out" / "statistics" / "average_ranks.md").read_text()


def test_normal_images_are_reported_separately(results, tmp_path) -> None:
    report = build_report(results, tmp_path / "out", qualitative=False)
    normal = _keys(report.normal.set_index("model"))
    assert normal.loc["model_a", "normal_images"] == 2 and normal.loc["model_a", "lesion_images"] == 8
    assert normal.loc["model_a", "false_positive_rate_mean"] == pytest.approx((0.5 + 0.0) / 2)
    assert normal.loc["model_a", "lesion_dice_mean"] == pytest.approx(np.mean([np.mean(A[1][:8]), np.mean(A[2][:8])]))


def test_html_page_holds_tables_and_figures(results, tmp_path) -> None:
    report = build_report(results, tmp_path / "out", qualitative=False)
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<table>") >= 4 and page.count("data:image/png;base64,") >= 4
    text = re.sub(r"base64,[^\"]+", "", page)  # a figure's bytes may spell anything
    assert "UNeXt (model_a)" in page and "<b>" in page and "http" not in text.replace("http-equiv", "")
    for plot in ("busi_dice_boxplot", "busi_dice_vs_cost", "busi_dice_forest", "busi_model_a_training"):
        assert (tmp_path / "out" / "plots" / f"{plot}.png").is_file()
        assert (tmp_path / "out" / "plots" / f"{plot}.pdf").is_file()
    # one dataset: no ranks, no Friedman test, no CD diagram
    assert report.ranks is None and report.friedman is None
    assert not (tmp_path / "out" / "plots" / "critical_difference.png").exists()
    assert not (tmp_path / "out" / "statistics" / "friedman.csv").exists()


def test_friedman_test_and_cd_diagram_across_two_datasets(results, tmp_path) -> None:
    other = {name: {1: scores_around(center), 2: scores_around(center)}
             for name, center in (("model_a", 0.6), ("model_b", 0.7), ("model_c", 0.8))}
    for name, scores in other.items():
        write_run(results, "busbra", name, scores, LABELS)
    report = build_report(results, tmp_path / "out", qualitative=False)
    means = {d: [np.mean([np.mean(s[1][:8]), np.mean(s[2][:8])]) for s in runs] for d, runs in  # lesion images
             (("busi", (A, B, C)), ("busbra", other.values()))}
    expected = stats.friedmanchisquare(*zip(means["busi"], means["busbra"]))
    assert report.friedman["chi2"] == pytest.approx(expected.statistic)
    assert report.friedman["p_value"] == pytest.approx(expected.pvalue)
    written = pd.read_csv(tmp_path / "out" / "statistics" / "friedman.csv")
    assert written.loc[0, "chi2"] == pytest.approx(expected.statistic) and written.loc[0, "datasets"] == 2
    assert (tmp_path / "out" / "plots" / "critical_difference.png").is_file()


def test_cross_dataset_matrix(tmp_path) -> None:
    root = tmp_path / "runs"
    # z: a normal image predicted normal (Dice 1): the matrix, like the main table's Dice, leaves it out
    cross = pd.DataFrame({"fold": [1, 1, 1, 2, 2, 2], "test_dataset": "busbra", "case_id": ["x", "y", "z"] * 2,
                          "dice": [0.5, 0.7, 1.0, 0.4, 0.6, 1.0], "nsd": [0.6, 0.8, 1.0, 0.5, 0.7, 1.0],
                          "nsd_tolerance": 2.0, "empty_case": ["", "", "both_empty"] * 2})
    overlap = pd.DataFrame({"test_dataset": "busbra", "fold": [1, 2], "test_images": 3, "seen_in_training": 0,
                            "handling": "drop", "case_ids": ""})
    write_run(root, "busi", "model_a", A, LABELS, **{"cross_dataset_metrics.csv": cross,
                                                      "cross_dataset_overlap.csv": overlap})
    report = build_report(root, tmp_path / "out", qualitative=False)
    entries = pd.read_csv(tmp_path / "out" / "tables" / "train_test_matrix.csv").set_index("tested_on")
    assert set(entries["trained_on"]) == {"BUSI"} and set(entries["model"]) == {"UNeXt"}
    # a data key no table here names: named by its dataset's adapter, never printed as the key
    assert entries.loc["BUS-BRA", "dice_mean"] == pytest.approx(np.mean([0.6, 0.5]))
    assert entries.loc["BUS-BRA", "images"] == 2
    assert entries.loc["BUSI", "dice_mean"] == pytest.approx(np.mean([np.mean(A[1][:8]), np.mean(A[2][:8])]))
    assert entries.loc["BUSI", "images"] == 8  # LABELS: 8 lesion images, 2 normal
    assert report.cross is not None and report.cross.columns.tolist() == ["Model", "Trained on", "BUS-BRA", "BUSI"]


def test_statistics_by_hand_and_against_scipy() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert rank_biserial(np.array([1.0, 2.0, -3.0, 0.0])) == pytest.approx((1 + 2 - 3) / 6)
    values = np.random.default_rng(1).normal(0.7, 0.1, 80)
    scipy_ci = stats.bootstrap((values,), np.mean, confidence_level=0.95, method="percentile",
                               n_resamples=10_000, random_state=1).confidence_interval
    assert bootstrap_ci(values) == pytest.approx((scipy_ci.low, scipy_ci.high), abs=0.004)
    ranks = average_ranks(pd.DataFrame({"a": [0.9, 0.8], "b": [0.7, 0.85], "c": [0.5, 0.5]}))
    assert ranks.to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0}
    assert critical_difference(3, 6) == pytest.approx(2.343 * np.sqrt(3 * 4 / 36), rel=1e-3)
    same = paired_comparisons(pd.DataFrame({"a": [0.5, 0.6], "b": [0.5, 0.6]}))
    assert same.loc[0, "p_value"] == 1.0


def test_an_empty_results_folder_is_an_error(tmp_path) -> None:
    with pytest.raises(BusbenchError, match="no finished busbench runs"):
        build_report(tmp_path, tmp_path / "out")


def test_report_command(results, tmp_path, monkeypatch, capsys) -> None:
    assert run_cli(monkeypatch, "report", str(results), "--out", str(tmp_path / "out"), "--no-qualitative") == 0
    printed = capsys.readouterr().out
    assert "BUSI, split seed 42, 20 % test: held-out test set" in printed and "report.html" in printed
    # no group column: each of the 8 lesion images (the CIs' images) is its own bootstrap unit, and the note says so
    assert f"CI: 95 % bootstrap over {LABELS.count('benign')} images (no group column in the per-image CSVs" in printed
    assert (tmp_path / "out" / "report.html").is_file()
