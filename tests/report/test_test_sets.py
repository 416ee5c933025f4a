"""A table and its statistics only ever hold runs scored on the same test set, in the right units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fake_results import write_run
from scipy import stats
from test_report import LABELS, A, B, C

from busbench.errors import BusbenchError
from busbench.report.build import build_report
from busbench.report.statistics import bootstrap_ci

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
    assert report.titles == {"busi-3f2a9c1b": "busi — test set 3f2a9c1b (seed 42, 20 %)",
                             "busi-77aa00ee": "busi — test set 77aa00ee (seed 7, 20 %)"}
    assert report.tables["busi-3f2a9c1b"]["model"].tolist() == ["model_a", "model_c"]
    assert report.tables["busi-77aa00ee"]["model"].tolist() == ["model_b"]
    pairs = report.comparisons["busi-3f2a9c1b"][["model_a", "model_b"]].values.tolist()
    assert pairs == [["model_a", "model_c"]] and report.comparisons["busi-77aa00ee"].empty
    assert report.comparisons["busi-3f2a9c1b"].loc[0, "p_value"] == pytest.approx(
        stats.wilcoxon(_fold_avg(A), _fold_avg(C)).pvalue)
    markdown = (tmp_path / "out" / "tables" / "busi-77aa00ee.md").read_text()
    assert markdown.startswith("busi — test set 77aa00ee (seed 7, 20 %)") and "model_b" in markdown
    assert set(report.normal["test_set"]) == {"busi-3f2a9c1b", "busi-77aa00ee"}
    assert report.ranks is None  # two test sets of one dataset are not two datasets


def test_without_environment_json_the_scored_case_ids_decide(tmp_path) -> None:
    root = tmp_path / "runs"
    others = [f"d{i:02d}" for i in range(10)]
    write_run(root, "busi", "model_a", A, LABELS)
    write_run(root, "busi", "model_c", C, LABELS)
    write_run(root, "busi", "model_b", B, LABELS, experiment="other", case_ids=others)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert sorted(len(t) for t in report.tables.values()) == [1, 2]
    assert all(title.endswith(", from case ids)") for title in report.titles.values())


def test_two_runs_of_one_model_on_one_test_set_are_an_error_naming_both(tmp_path) -> None:
    root = tmp_path / "runs"
    first = write_run(root, "busi", "unet", A, LABELS, experiment="exp1", test_set=SHA_1)
    second = write_run(root, "busi", "unet", B, LABELS, experiment="exp2", test_set=SHA_1)
    with pytest.raises(BusbenchError, match="two runs of model 'unet'") as error:
        build_report(root, tmp_path / "out", qualitative=False)
    assert str(first) in str(error.value) and str(second) in str(error.value)


def test_groups_are_the_unit_of_intervals_and_paired_tests(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1, groups=GROUPS)
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, groups=GROUPS)
    report = build_report(root, tmp_path / "out", qualitative=False)
    table = report.tables["busi"].set_index("model")
    expected_ci = "95 % cluster bootstrap over 6 patients/duplicate groups (10 images)"
    assert table["ci"].eq(expected_ci).all()
    assert f"CI: {expected_ci}." in (tmp_path / "out" / "tables" / "busi.md").read_text()
    assert (table.loc["model_a", "dice_ci_low"], table.loc["model_a", "dice_ci_high"]) == pytest.approx(
        bootstrap_ci(_fold_avg(A), np.array(GROUPS)))
    # the paired test on per-group means, averaged by hand
    per_group = {}
    for name, scores in (("a", _fold_avg(A)), ("b", _fold_avg(B))):
        sums: dict[int, list[float]] = {}
        for group, value in zip(GROUPS, scores):
            sums.setdefault(group, []).append(value)
        per_group[name] = [np.mean(sums[g]) for g in sorted(sums)]
    comparison = report.comparisons["busi"].iloc[0]
    assert comparison["units"] == 6 and comparison["unit"] == "per-group mean Dice"
    assert comparison["p_value"] == pytest.approx(stats.wilcoxon(per_group["a"], per_group["b"]).pvalue)


def test_a_fold_model_missing_the_lesions_is_marked_in_the_tables(tmp_path) -> None:
    root = tmp_path / "runs"
    missing = {1: [0.0] * 8 + [1.0, 1.0], 2: A[2]}  # fold 1 predicts nothing: 8 missed lesions, 2 normals right
    write_run(root, "busi", "model_a", missing, LABELS)
    write_run(root, "busi", "model_b", B, LABELS)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.tables["busi"].set_index("model").loc["model_a", "degenerate_folds"] == 1
    markdown = (tmp_path / "out" / "tables" / "busi.md").read_text()
    assert "| model_a ⚠ 1 of 2 degenerate |" in markdown and "| model_b |" in markdown
    assert "miss at least 90% of the test set's lesion images" in markdown
    assert "model\\_a (!) 1 of 2 degenerate" in (tmp_path / "out" / "tables" / "busi.tex").read_text()


def test_a_protocol_override_is_marked_in_every_table(tmp_path) -> None:
    root = tmp_path / "runs"
    cell = write_run(root, "busi", "model_a", A, LABELS)
    write_run(root, "busi", "model_b", B, LABELS)
    config = cell / "config.yaml"
    config.write_text(config.read_text().replace("init_from: null", "init_from: /elsewhere/best.pt").replace(
        "init_from_test_overlap: refuse", "init_from_test_overlap: allow"))
    build_report(root, tmp_path / "out", qualitative=False)
    markdown = (tmp_path / "out" / "tables" / "busi.md").read_text()
    assert "| model_a † |" in markdown and "| model_b |" in markdown
    assert "† OVERRIDE: model.init_from weights (/elsewhere/best.pt) were not checked against the test set" in markdown
    assert "OVERRIDE" in (tmp_path / "out" / "tables" / "busi.tex").read_text()
    assert "OVERRIDE: model.init_from" in (tmp_path / "out" / "report.html").read_text()


def test_an_impossible_pairing_shows_n_a_never_a_p_value(tmp_path) -> None:
    root = tmp_path / "runs"  # one recorded test set, but disjoint scored images: nothing to pair
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, experiment="other",
              case_ids=[f"d{i:02d}" for i in range(10)])
    write_run(root, "busi", "model_c", C, LABELS, test_set=SHA_1, experiment="third")
    report = build_report(root, tmp_path / "out", qualitative=False)
    comparisons = report.comparisons["busi"].set_index(["model_a", "model_b"])
    assert np.isnan(comparisons.loc[("model_a", "model_b"), "p_holm"])
    assert comparisons.loc[("model_a", "model_c"), "p_holm"] == pytest.approx(
        comparisons.loc[("model_a", "model_c"), "p_value"])  # one finite p-value: nothing to correct
    written = pd.read_csv(tmp_path / "out" / "statistics" / "busi_comparisons.csv")
    assert written["p_holm"].isna().sum() == 2
    assert "| model_a | model_b | 0 | n/a | n/a | n/a | n/a |" in (
        tmp_path / "out" / "statistics" / "busi_comparisons.md").read_text()


def test_ranks_take_one_test_set_per_dataset_the_one_with_most_runs(tmp_path) -> None:
    root = tmp_path / "runs"
    for name, scores in (("model_a", A), ("model_b", B), ("model_c", C)):
        write_run(root, "busi", name, scores, LABELS, test_set=SHA_1)
        write_run(root, "busbra", name, scores, LABELS, test_set=SHA_1)
    write_run(root, "busi", "model_a", B, LABELS, experiment="seed7", test_set=SHA_2, split_seed=7)
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.ranked_tables == ["busbra", "busi-3f2a9c1b"]
    assert report.friedman["datasets"] == 2 and report.ranks.to_dict() == {"model_a": 1.0, "model_c": 2.0,
                                                                           "model_b": 3.0}


def test_groups_linked_by_any_run_merge_into_one_unit(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "model_a", A, LABELS, test_set=SHA_1, groups=GROUPS)
    # the other run's split also links image 2 with image 5 (groups 1 and 2 of the first): 5 units
    write_run(root, "busi", "model_b", B, LABELS, test_set=SHA_1, groups=[0, 0, 1, 9, 9, 1, 3, 4, 5, 5])
    report = build_report(root, tmp_path / "out", qualitative=False)
    assert report.tables["busi"]["ci"].iloc[0] == "95 % cluster bootstrap over 5 patients/duplicate groups (10 images)"
    assert report.comparisons["busi"].loc[0, "units"] == 5
