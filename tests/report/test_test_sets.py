"""A table and its statistics only ever hold runs scored on the same test set, in the right units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import LABELS, A, B, C, write_run
from scipy import stats

from busbench.errors import BusbenchError
from busbench.layout.folders import CellFolder
from busbench.report.build import build_report
from busbench.report.statistics.intervals_and_tests import bootstrap_ci

SHA_1, SHA_2 = "3f2a9c1b" + "0" * 56, "77aa00ee" + "1" * 56
GROUPS = [0, 0, 1, 1, 1, 2, 3, 4, 5, 5]  # 10 test images of 6 patients/duplicate groups


def _fold_avg(scores: dict[int, list[float]]) -> np.ndarray:
    return np.mean([scores[1], scores[2]], axis=0)


def test_two_split_seeds_of_one_dataset_make_two_tables(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_c", C, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_b", B, LABELS, experiment="seed7", test_set=SHA_2, split_seed=7)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.titles == {"busi-3f2a9c1b": "BUSI, split seed 42, 20 % test",
                             "busi-77aa00ee": "BUSI, split seed 7, 20 % test"}
    assert report.tables["busi-3f2a9c1b"]["model"].tolist() == ["UNeXt (model_a)", "UNeXt (model_c)"]
    assert report.tables["busi-77aa00ee"]["model"].tolist() == ["UNeXt"]  # alone in its table: no key needed
    pairs = report.comparisons["busi-3f2a9c1b"][["model_a", "model_b"]].values.tolist()
    assert pairs == [["UNeXt (model_a)", "UNeXt (model_c)"]] and report.comparisons["busi-77aa00ee"].empty
    assert report.comparisons["busi-3f2a9c1b"].loc[0, "p_value"] == pytest.approx(
        stats.wilcoxon(_fold_avg(A)[:8], _fold_avg(C)[:8]).pvalue)  # lesion images only
    markdown = (tmp_path / "out" / "tables" / "busi-77aa00ee_accuracy.md").read_text()
    assert markdown.startswith("Segmentation accuracy on BUSI, split seed 7, 20 % test") and "| UNeXt |" in markdown
    assert "77aa00ee" not in markdown and "model_b" not in markdown  # keys only in the setup's legend
    assert set(report.normal["dataset"]) == {"BUSI, split seed 42, 20 % test", "BUSI, split seed 7, 20 % test"}
    assert report.setup["Datasets and splits"]["Test set sha256"].str[:8].tolist() == ["3f2a9c1b", "77aa00ee"]
    assert report.ranks is None  # two test sets of one dataset are not two datasets


def test_without_environment_json_the_scored_case_ids_decide(tmp_path) -> None:
    root = tmp_path / "runs"
    others = [f"d{i:02d}" for i in range(10)]
    write_run(root, "busi", "model_a", A, LABELS)
    write_run(root, "busi", "model_c", C, LABELS)
    write_run(root, "busi", "model_b", B, LABELS, experiment="other", case_ids=others)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert sorted(len(t) for t in report.tables.values()) == [1, 2]
    assert sorted(report.titles.values()) == ["BUSI, split seed 42, 20 % test (test set 1)",
                                              "BUSI, split seed 42, 20 % test (test set 2)"]
    assert report.setup["Datasets and splits"]["Test set sha256"].str.endswith("(from case ids)").all()


def test_two_runs_of_one_model_on_one_test_set_are_an_error_naming_both(tmp_path) -> None:
    root = tmp_path / "runs"
    first = write_run(root, "busi", "unet", A, LABELS, experiment="exp1", test_set=SHA_1)
    second = write_run(root, "busi", "unet", B, LABELS, experiment="exp2", test_set=SHA_1)
    with pytest.raises(BusbenchError, match="two runs of model 'unet'") as error:
        build_report(root, tmp_path / "out", qualitative=False)
    assert str(first) in str(error.value) and str(second) in str(error.value)
    second.rename(f"{second}-2")  # as the error says
    assert build_report(root, tmp_path / "out", qualitative=False).tables["busi"]["model"].tolist() == [
        "UNeXt (unet)", "UNeXt (unet-2)"]


@pytest.mark.parametrize(("patients", "unit", "paired_by"), [
    (["P1", "P1", "P2"], "5 patients/duplicate groups (8 images)", "patient/duplicate group"),
    (["", "", ""], "5 duplicate groups (8 images; the dataset names no patients)", "duplicate group"),  # BUSI
    (["NA", "", ""], "5 patients/duplicate groups (8 images)", "patient/duplicate group"),  # "NA" is an id
])
def test_the_unit_says_whether_the_dataset_names_patients(tmp_path: Path, patients: list[str], unit: str,
                                                          paired_by: str) -> None:
    root = tmp_path / "runs"
    for model, dice in (("model_a", A), ("model_b", B)):
        cell = CellFolder(write_run(root, "busi", model, dice, LABELS, test_set=SHA_1, groups=GROUPS))
    cell.data_folder.mkdir(parents=True)
    pd.DataFrame({"case_id": ["x", "y", "z"], "patient_id": patients}).to_csv(cell.data_folder / "manifest.csv")
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.tables["busi"]["ci"].eq(f"95 % cluster bootstrap over {unit}").all()
    assert report.tables["busi"]["paired_by"].eq(f"{paired_by} (the group's mean)").all()


def test_groups_are_the_unit_of_intervals_and_paired_tests(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1, groups=GROUPS)
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, groups=GROUPS)
    report = build_report(root, tmp_path / "out", qualitative=False)
    table = report.tables["busi"].set_index("model").rename(index=lambda title: title[7:-1])  # UNeXt (model_a)
    expected_ci = "95 % cluster bootstrap over 5 patients/duplicate groups (8 images)"  # the lesion images
    assert table["ci"].eq(expected_ci).all()
    assert f"CI: {expected_ci}." in (tmp_path / "out" / "tables" / "busi_accuracy.md").read_text()
    # the false alarms' CI draws the normal images' units: the 2 images of group 5
    alarms_note = (tmp_path / "out" / "tables" / "busi_false_alarms.md").read_text()
    assert "CI: 95 % cluster bootstrap over 1 patients/duplicate groups (2 images)." in alarms_note
    assert (table.loc["model_a", "dice_lesion_ci_low"], table.loc["model_a", "dice_lesion_ci_high"]) == pytest.approx(
        bootstrap_ci(_fold_avg(A)[:8], np.array(GROUPS[:8])))  # the 8 lesion images
    # the paired test on per-group means of the lesion images, averaged by hand
    per_group = {}
    for name, scores in (("a", _fold_avg(A)[:8]), ("b", _fold_avg(B)[:8])):
        sums: dict[int, list[float]] = {}
        for group, value in zip(GROUPS[:8], scores):
            sums.setdefault(group, []).append(value)
        per_group[name] = [np.mean(sums[g]) for g in sorted(sums)]
    comparison = report.comparisons["busi"].iloc[0]
    assert comparison["units"] == 5 and comparison["unit"] == "per-group mean Dice"  # groups 0-4 hold lesions
    assert comparison["images"] == "lesion images only, n = 8"
    assert comparison["p_value"] == pytest.approx(stats.wilcoxon(per_group["a"], per_group["b"]).pvalue)


def test_a_fold_model_missing_the_lesions_is_marked_in_the_tables(tmp_path) -> None:
    root = tmp_path / "runs"
    missing = {1: [0.0] * 8 + [1.0, 1.0], 2: A[2]}  # fold 1 predicts nothing: 8 missed lesions, 2 normals right
    write_run(root, "busi", "model_a", missing, LABELS)
    write_run(root, "busi", "model_b", B, LABELS)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.tables["busi"].set_index("model").loc["UNeXt (model_a)", "degenerate_folds"] == 1
    markdown = (tmp_path / "out" / "tables" / "busi_accuracy.md").read_text()
    assert "| UNeXt (model_a) ⚠ 1 of 2 degenerate |" in markdown and "| UNeXt (model_b) |" in markdown
    assert "miss at least 90% of the test set's lesion images" in markdown
    assert "UNeXt (model\\_a) (!) 1 of 2 degenerate" in (tmp_path / "out" / "tables" / "busi_accuracy.tex").read_text()


def test_a_protocol_override_is_marked_in_every_table(tmp_path) -> None:
    root = tmp_path / "runs"
    cell = write_run(root, "busi", "model_a", A, LABELS)
    write_run(root, "busi", "model_b", B, LABELS)
    config = cell / "config.yaml"
    config.write_text(config.read_text().replace("init_from: null", "init_from: /elsewhere/best.pt").replace(
        "init_from_test_overlap: refuse", "init_from_test_overlap: allow"))
    build_report(root, tmp_path / "out", qualitative=False)
    markdown = (tmp_path / "out" / "tables" / "busi_accuracy.md").read_text()
    assert "| UNeXt (fine-tuned) ‡ |" in markdown and "| UNeXt |" in markdown  # † marks significance
    assert "‡ OVERRIDE: model.init_from weights (/elsewhere/best.pt) were not checked against the test set" in markdown
    assert "OVERRIDE" in (tmp_path / "out" / "tables" / "busi_accuracy.tex").read_text()
    assert "OVERRIDE: model.init_from" in (tmp_path / "out" / "report.html").read_text()


def test_an_impossible_pairing_shows_n_a_never_a_p_value(tmp_path) -> None:
    root = tmp_path / "runs"  # one recorded test set, but disjoint scored images: nothing to pair
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, experiment="other",
              case_ids=[f"d{i:02d}" for i in range(10)])
    write_run(root, "busi", "model_c", C, LABELS, test_set=SHA_1, experiment="third")
    report = build_report(root, tmp_path / "out", qualitative=False)
    comparisons = report.comparisons["busi"].set_index(["model_a", "model_b"]).rename(
        index=lambda title: title[7:-1])  # UNeXt (model_a) -> model_a
    assert np.isnan(comparisons.loc[("model_a", "model_b"), "p_holm"])
    assert comparisons.loc[("model_a", "model_c"), "p_holm"] == pytest.approx(
        comparisons.loc[("model_a", "model_c"), "p_value"])  # one finite p-value: nothing to correct
    written = pd.read_csv(tmp_path / "out" / "statistics" / "busi_comparisons.csv")
    assert written["p_holm"].isna().sum() == 2
    assert "| UNeXt (model_a) | UNeXt (model_b) | 0 | n/a | n/a | n/a | n/a |" in (
        tmp_path / "out" / "statistics" / "busi_comparisons.md").read_text()


def test_ranks_take_one_test_set_per_dataset_the_one_with_most_runs(tmp_path) -> None:
    root = tmp_path / "runs"
    for name, scores in (("model_a", A), ("model_b", B), ("model_c", C)):
        write_run(root, "busi", name, scores, LABELS, test_set=SHA_1)
        write_run(root, "busbra", name, scores, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_a", B, LABELS, experiment="seed7", test_set=SHA_2, split_seed=7)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.ranked_tables == ["busbra", "busi-3f2a9c1b"]
    assert report.friedman["datasets"] == 2 and report.ranks.to_dict() == {
        "UNeXt (model_a)": 1.0, "UNeXt (model_c)": 2.0, "UNeXt (model_b)": 3.0}


def test_groups_linked_by_any_run_merge_into_one_unit(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1, groups=GROUPS)
    # the other run's split also links image 2 with image 5 (groups 1 and 2 of the first): 5 units
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, groups=[0, 0, 1, 9, 9, 1, 3, 4, 5, 5])
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.tables["busi"]["ci"].iloc[0] == "95 % cluster bootstrap over 4 patients/duplicate groups (8 images)"
    assert report.comparisons["busi"].loc[0, "units"] == 4  # the lesion images' units: groups 0, 1+2, 3, 4


def test_a_dataset_without_normal_images_shows_only_the_lesion_columns(tmp_path) -> None:
    root = tmp_path / "runs"
    labels = ["benign"] * 5 + ["malignant"] * 5  # as BUS-BRA: every image holds a lesion
    write_run(root, "busbra", "model_a", A, labels)
    write_run(root, "busbra", "model_b", B, labels)
    report = build_report(root, tmp_path / "out", qualitative=False)
    lesion_only = ["Dice (lesion)", "Dice (lesion) 95 % CI", "IoU (lesion)", "NSD@2px (lesion)", "HD95 (lesion, px)",
                   "HD95 (lesion) 95 % CI", "Sensitivity (lesion)"]
    tables = tmp_path / "out" / "tables"
    markdown = next(tables.glob("*_accuracy.md")).read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("|"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["Model", "Row", *lesion_only]
    assert "No normal test images (all 10 hold a lesion): no false-alarm or all-image column." in markdown
    numbers = pd.read_csv(next(tables.glob("*_accuracy.csv")))
    assert not {"false_alarm_rate", "dice_all_mean", "dice_all_std"} & set(numbers.columns)
    assert (numbers["normal_images"] == 0).all() and (numbers["lesion_images"] == 10).all()
    # every image holds a lesion: the lesion Dice is the Dice over all images, and the tests take all 10
    assert numbers.set_index("model").loc["UNeXt (model_a)", "dice_lesion_mean"] == pytest.approx(
        np.mean([np.mean(A[1]), np.mean(A[2])]))
    assert report.comparisons[next(iter(report.comparisons))].loc[0, "images"] == "lesion images only, n = 10"
    latex = next(tables.glob("*_accuracy.tex")).read_text()
    assert "False alarms" not in latex and "Dice (all)" not in latex
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<th>False alarms (normal)</th>" not in page and "<th>Dice (all)</th>" not in page
    assert "<th>Dice (lesion)</th>" in page
