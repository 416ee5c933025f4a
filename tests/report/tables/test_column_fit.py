"""A one-column LaTeX table fits the column by layout: its width is estimated before LaTeX runs (checked here
against the width pdflatex measures), a label's bracket goes under it, then IoU and the count columns are left
to the wide table, each only where the table would not fit otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pdflatex_check import compile_log

from busbench.report.tables.latex import COLUMN, WIDE, FloatText, estimated_width, to_latex
from busbench.report.tables.writing import write_latex_tables

CI = {"Dice (lesion) 95 % CI": "Dice (lesion)", "HD95 (lesion, px) 95 % CI": "HD95 (lesion, px)"}


def _accuracy(hd95: str, ci: str) -> pd.DataFrame:
    """An accuracy table as the report shows it: a model's three rows, CIs under Dice and HD95."""
    return pd.DataFrame({
        "Model": ["CMUNeXt-S", "", ""], "Row": ["fold models†", "ensemble†", "ens. + PP†"],
        "Dice (lesion)": ["0.651", "\x00B0.679\x00E", "0.646"], "Dice (lesion) 95 % CI": ["[0.591, 0.709]"] * 3,
        "IoU (lesion)": ["0.542", "0.572", "0.550"], "HD95 (lesion, px)": [hd95] * 3,
        "HD95 (lesion, px) 95 % CI": [ci] * 3, "Sensitivity (lesion)": ["98.3%", "96.5%", "\x00B89.1%\x00E"],
        "False alarms (normal)": ["84.4%", "75.9%", "27.8%"]})


def _subgroups() -> pd.DataFrame:
    return pd.DataFrame({
        "Model": ["U-Net (width 8)", ""], "Factor": ["class", "lesion size"],
        "Subgroup": ["malignant", "medium (1733-5560 px)"], "n": ["42", "43"], "Dice": ["0.708", "0.730"],
        "Dice 95 % CI": ["[0.615, 0.788]", "[0.645, 0.800]"], "HD95 (px)": ["140.14", "30.98"],
        "HD95 (px) 95 % CI": ["[128.95, 153.57]", "[20.88, 43.87]"]})


def _measured(tex: Path, work: Path) -> list[float]:
    """The width pdflatex sets each tabular of ``tex`` to, in points."""
    text = tex.read_text().replace("\\leavevmode\\ifdim", "\\typeout{WIDTH \\the\\wd0}\\leavevmode\\ifdim")
    measured = work / f"{tex.stem}_measured.tex"
    measured.write_text(text)
    return [float(w) for w in re.findall(r"WIDTH ([\d.]+)pt", compile_log(measured, work / "latex"))]


@pytest.mark.parametrize("shown, below, split", [
    (_accuracy("39.76", "[31.06, 51.04]"), CI, False), (_accuracy("139.76", "[101.06, 151.04]"), CI, False),
    (_subgroups(), {"Dice 95 % CI": "Dice", "HD95 (px) 95 % CI": "HD95 (px)"}, True),
    (_subgroups(), {"Dice 95 % CI": "Dice", "HD95 (px) 95 % CI": "HD95 (px)"}, False),
    (pd.DataFrame({"Model": ["A model whose name is far wider than its columns", ""], "Row": ["a", "b"],
                   "AUROC": ["0.9", "0.8"]}), None, False)])
def test_the_estimate_is_within_3_percent_of_what_pdflatex_sets(shown: pd.DataFrame, below: dict[str, str] | None,
                                                                 split: bool, tmp_path: Path) -> None:
    tex = tmp_path / "table.tex"
    tex.write_text(to_latex(shown, FloatText("Caption", "Note.", "t"), below, WIDE, split))
    [measured] = _measured(tex, tmp_path)
    assert estimated_width(shown, below, split) == pytest.approx(measured, rel=0.03)


def _written(shown: pd.DataFrame, below: dict[str, str], tmp_path: Path) -> str:
    write_latex_tables([(shown, "Caption", "Note.", "t")], tmp_path / "table", below)
    return (tmp_path / "table.tex").read_text()


def test_iou_stays_where_the_table_fits_and_goes_to_the_wide_table_where_not(tmp_path: Path) -> None:
    no_normal_images = _accuracy("9.76", "[3.06, 15.04]").drop(columns="False alarms (normal)")
    fits = _written(no_normal_images, CI, tmp_path / "fits")
    assert "IoU" in fits.split("\\midrule")[0] and "in the two-column" not in fits
    too_wide = _written(_accuracy("139.76", "[101.06, 151.04]"), CI, tmp_path / "wide")
    header = too_wide.split("\\midrule")[0]
    assert "IoU" not in header and "HD95" in header and "Sensitivity" in header
    assert "IoU (lesion): in the two-column (table*) version" in too_wide
    assert "{@{}lrrrr@{}}" in too_wide  # Row, Dice, HD95, Sensitivity, False alarms: no CI column of IoU's left
    assert max(_measured(tmp_path / "wide" / "table.tex", tmp_path)) <= COLUMN.points
    wide = (tmp_path / "wide" / "table_wide.tex").read_text()
    assert "IoU" in wide.split("\\midrule")[0]


def test_a_label_too_wide_puts_its_bracket_on_the_line_under_it(tmp_path: Path) -> None:
    below = {"Dice 95 % CI": "Dice", "HD95 (px) 95 % CI": "HD95 (px)"}
    text = _written(_subgroups(), below, tmp_path)
    assert "lesion size & medium & 43 & 0.730 & 30.98 \\\\" in text
    assert " & {\\scriptsize (1733-5560 px)} &  & {\\scriptsize [0.645, 0.800]} & {\\scriptsize [20.88, 43.87]}" in text
    assert "n" in text.split("\\midrule")[0]  # the split was enough: no column left out
    assert max(_measured(tmp_path / "table.tex", tmp_path)) <= COLUMN.points
    narrow = _subgroups().iloc[:1].assign(Subgroup="benign")
    assert "(1733" not in _written(narrow, below, tmp_path / "narrow")
