"""The paired-analysis and shape tables laid out for one 3.5 in column instead of scaled down: every test
and figure is still there, under headings of its model (pair), and pdflatex sets the table at full size,
where the wide layout needs scaling to half its width (the mutation: the same tables without the layout)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pdflatex_check import compile_log, overfull_boxes

from busbench.report.analyses.display import (
    ci_below,
    comparisons_display,
    comparisons_in_a_column,
    morphology_display,
    morphology_in_a_column,
)
from busbench.report.tables.writing import write_latex_tables

# the longest names of the committed BUSI report, and a row of each analysis and row type
TESTS = [("detection", "sensitivity", "fold models", "CMUNeXt-S", "UNeXt", 98, 0.0563, 0.0713, 0.0258),
         ("detection", "specificity", "fold models", "U-Net (width 8)", "UNeXt", 19, -0.4621, -0.4, 0.0019),
         ("morphology", "centroid_error", "fold models", "Attention U-Net", "U-Net (width 8)", 98, 1.6912, 2.0, 0.0002),
         ("morphology", "area", "fold models", "Attention U-Net", "U-Net (width 8)", 98, 166.38, 166.27, 0.0074),
         ("detection", "specificity", "ensemble", "CMUNeXt-S", "UNeXt", 19, -0.5921, -0.593, 0.0046),
         ("morphology", "taller than wide", "ensemble + post-processing", "U-Net (width 8)", "UNeXt", 88, -0.031,
          -0.063, 0.0244),
         ("calibration", "ece", "ensemble", "CMUNeXt-S", "UNeXt", 117, 0.054, 0.054, 0.0012)]


def _comparisons() -> pd.DataFrame:
    rows = pd.DataFrame(TESTS, columns=["analysis", "measure", "variant", "model_a", "model_b", "units", "difference",
                                        "difference_images", "p_holm"])
    return comparisons_display(rows)


def _morphology() -> pd.DataFrame:
    rows = []
    for model in ("CMUNeXt-S", "U-Net (width 8)"):
        for descriptor, value, mae in (("depth_width", 0.383, 0.159), ("area", 0.77, 1778.62),
                                       ("centroid_error", None, 18.01), ("taller than wide", None, None)):
            rows.append({"model": model, "variant": "fold models", "descriptor": descriptor, "pairs_mean": 126.8,
                         "pearson": value, "pearson_ci_low": value and value - 0.12,
                         "pearson_ci_high": value and value + 0.13, "spearman": value, "spearman_ci_low": value,
                         "spearman_ci_high": value, "mae": mae, "mae_ci_low": mae and mae * 0.8,
                         "mae_ci_high": mae and mae * 1.35,
                         "accuracy": 0.944 if mae is None else None, "accuracy_ci_low": 0.913 if mae is None else None,
                         "accuracy_ci_high": 0.969 if mae is None else None,
                         "kappa": 0.162 if mae is None else None, "kappa_ci_low": -0.012 if mae is None else None,
                         "kappa_ci_high": 0.375 if mae is None else None})
    return morphology_display(pd.DataFrame(rows).astype({"pearson": float, "mae": float}))


def test_paired_tests_in_a_column_keep_every_test_under_its_pair() -> None:
    shown = _comparisons()
    column, moved = comparisons_in_a_column(shown)
    assert moved == []
    assert list(column.columns) == ["Model", "Measure", "Units", "A - B (units)", "A - B (images)", "p (Holm)"]
    headings = [h for h in column["Model"] if h]
    assert headings == ["A: CMUNeXt-S, B: UNeXt (fold models)", "A: U-Net (width 8), B: UNeXt (fold models)",
                        "A: Attention U-Net, B: U-Net (width 8) (fold models)", "A: CMUNeXt-S, B: UNeXt (ensemble)",
                        "A: U-Net (width 8), B: UNeXt (ens. + PP)"]
    # the two morphology tests of one pair under one heading; the ensemble's two tests of one pair together
    assert column["Measure"].tolist() == ["sensitivity", "specificity", "centroid error (px)", "area error (px)",
                                          "specificity", "ECE", "taller than wide (agreement)"]
    assert sorted(column["p (Holm)"]) == sorted(shown["p (Holm)"])
    assert column["A - B (images)"].tolist()[2:4] == ["2.00", "166.27"]  # pixel measures keep their places


def test_shape_agreement_in_a_column_leaves_the_pairs_and_kappa_to_the_wide_table() -> None:
    column, moved = morphology_in_a_column(_morphology())
    assert moved == ["Pairs (mean)", "the accuracy and Cohen's κ of taller than wide"]
    assert "Accuracy" not in column and "Cohen's κ" not in column and "Pairs (mean)" not in column
    assert column["Descriptor"].tolist() == ["depth-to-width", "area (px)", "centroid error (px)"] * 2
    assert column["Model"].tolist() == ["CMUNeXt-S", "", "", "U-Net (width 8)", "", ""]
    assert column["MAE"].tolist()[1:3] == ["1778.62", "18.01"]


def _column_log(shown: pd.DataFrame, name: str, tmp_path: Path, laid_out: bool) -> tuple[str, str]:
    path = tmp_path / name
    layout = {"comparisons": comparisons_in_a_column, "morphology": morphology_in_a_column}[name]
    write_latex_tables([(shown, "A caption.", "A note.", name)], path, below=ci_below(shown),
                       column_layout=layout if laid_out else None)
    tex = path.with_suffix(".tex")
    return compile_log(tex, tmp_path / "latex", "column"), tex.read_text()


def test_both_tables_fit_a_column_unscaled_and_only_with_the_layout(tmp_path: Path) -> None:
    for name, shown in (("comparisons", _comparisons()), ("morphology", _morphology())):
        log, tex = _column_log(shown, name, tmp_path, laid_out=True)
        assert overfull_boxes(log) == [] and "scaled from" not in log, f"{name}.tex is scaled in one column"
        assert "two-column (table*) version" in tex or name == "comparisons"
        wide_log = compile_log(tmp_path / f"{name}_wide.tex", tmp_path / "latex", "two-column")
        assert overfull_boxes(wide_log) == [] and "scaled from" not in wide_log, f"{name}_wide.tex is scaled"
        unlaid, _ = _column_log(shown, name, tmp_path / "plain", laid_out=False)
        assert "scaled from" in unlaid, f"{name}: the plain layout fits; the test no longer shows the layout's use"
