"""The analyses breast-ultrasound papers report beside the main table, one file each in the report
folder (each with a Markdown copy):

Each has a Markdown copy and, for the tables a paper prints (``LATEX_TABLES``), LaTeX in two widths
(``<name>.tex``, ``<name>_wide.tex``), both as ``analyses.display`` shows them.

* ``subgroups.csv`` (+ ``subgroup_comparisons.csv``, a figure per test set):
  Dice and HD95 by class, lesion-size tertile and varying manifest column (``analyses.subgroups``);
* ``detection.csv``: image-level lesion detection (``analyses.detection``);
* ``morphology.csv`` and ``morphology_summary.csv``: lesion shape kept or not (``analyses.morphology``);
* ``calibration.csv`` and ``calibration_bins.csv`` (+ a reliability diagram per test set): the
  ensemble's pixel probabilities (``analyses.calibration``);
* ``analysis_comparisons.csv``: the paired model-vs-model tests of detection, morphology and
  calibration (``analyses.comparisons``).

Every CI and paired test is the main table's (``report.statistics``: cluster bootstrap over the
test set's patients/duplicate groups, Wilcoxon on per-group means, Holm within each analysis).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.layout.atomic import write_csv, write_text
from busbench.markdown import markdown_table
from busbench.progress import progress
from busbench.report.analyses.calibration import calibration_tables, table_counts
from busbench.report.analyses.comparisons import analysis_comparisons
from busbench.report.analyses.detection import detection_table
from busbench.report.analyses.display import (
    calibration_display,
    calibration_note,
    ci_below,
    comparisons_display,
    comparisons_in_a_column,
    detection_display,
    detection_note,
    joined,
    morphology_display,
    morphology_in_a_column,
    subgroup_display,
)
from busbench.report.analyses.morphology import morphology_tables
from busbench.report.analyses.notes import NOTES, SUBGROUP_CAPTION, reliability_caption, subgroup_figure_caption
from busbench.report.analyses.subgroups import subgroup_table
from busbench.report.collect import RunTable
from busbench.report.figures import analysis_plots
from busbench.report.names import readable_header
from busbench.report.number_format import MISSING, P_FLOOR_TEXT, shown_frame
from busbench.report.scored_sets import has_lesion
from busbench.report.tables.publication import SIGNIFICANCE
from busbench.report.tables.writing import write_latex_tables


@dataclass
class Analyses:
    """The tables of every test set, concatenated, and each test set's figures."""

    subgroups: pd.DataFrame
    subgroup_comparisons: pd.DataFrame
    detection: pd.DataFrame
    morphology: pd.DataFrame
    morphology_summary: pd.DataFrame
    calibration: pd.DataFrame
    calibration_bins: pd.DataFrame
    comparisons: pd.DataFrame
    figures: dict[str, list[Path]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    captions: dict[Path, str] = field(default_factory=dict)  # each figure's: what it shows, on which images


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The non-empty frames joined; else the first (its columns kept), else nothing."""
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else (frames[0] if frames else pd.DataFrame())


LATEX_TABLES = {"subgroups": SUBGROUP_CAPTION, "detection": "Image-level lesion detection",
                "morphology_summary": "Lesion shape, true against predicted (fold models)",
                "calibration": "Pixel-level calibration of the ensemble",
                "analysis_comparisons": "Paired tests of detection, morphology and calibration that differ at "
                                        f"Holm-adjusted p < {SIGNIFICANCE:g}"}


COLUMN_LAYOUTS = {"analysis_comparisons": comparisons_in_a_column, "morphology_summary": morphology_in_a_column}


def _shown(name: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """One analysis of one test set as printed, and what its note adds (why a figure is missing)."""
    if name == "subgroups":
        return subgroup_display(rows), ""
    if name == "detection":
        return detection_display(rows), detection_note(rows)
    if name == "morphology_summary":
        return morphology_display(rows[rows["variant"] == FOLD_MODELS]), ""
    if name == "calibration":
        return calibration_display(rows), calibration_note(rows)
    return comparisons_display(rows), ""


def _write_shown(frame: pd.DataFrame, out: Path, name: str) -> None:
    """``name``.md (and .tex, _wide.tex): per test set its table as printed, under the test set's title."""
    markdown, latex = [], []
    for number, (title, rows) in enumerate(frame.groupby("test_set", sort=False), start=1):
        shown, extra = _shown(name, rows)
        markdown += [f"## {title}\n", markdown_table(joined(shown)), extra.strip()]
        if name == "analysis_comparisons":  # the paper's table: the differences that hold, the CSV every test
            shown = shown[[p != MISSING and (p == P_FLOOR_TEXT or float(p) < SIGNIFICANCE)
                           for p in shown["p (Holm)"]]]
            extra += f" The {len(rows)} tests: analysis_comparisons.csv (and .md)."
        latex.append((shown, f"{LATEX_TABLES[name]} ({title}).", NOTES[name] + extra, f"{name}-{number}"))
    write_text("\n".join(markdown) + "\n\n" + NOTES[name] + "\n", out / f"{name}.md")
    write_latex_tables(latex, out / name, below=ci_below(latex[0][0]) if latex else None,
                       column_layout=COLUMN_LAYOUTS.get(name))


def _write(frame: pd.DataFrame, out: Path, name: str) -> None:
    """``name``.csv, and its Markdown copy (headers in words, numbers by ``number_format``) with the note
    of which images it covers (``notes.NOTES``)."""
    write_csv(frame, out / f"{name}.csv")
    if name in LATEX_TABLES and "test_set" in frame:
        _write_shown(frame, out, name)
        return
    shown = shown_frame(frame).rename(columns=readable_header)
    write_text(markdown_table(shown) + "\n" + NOTES[name] + "\n", out / f"{name}.md")


def report_analyses(out: Path, tables: list[RunTable], clusters: dict[str, pd.Series],
                    titles: dict[str, str]) -> Analyses:
    """Every analysis of every test set (``clusters``: each table key's image -> independent unit),
    written under ``out``."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in (
        "subgroups", "comparisons", "detection", "morphology", "morphology_summary", "calibration", "bins",
        "analysis_comparisons")}
    figures: dict[str, list[Path]] = {}
    captions: dict[Path, str] = {}
    notes: list[str] = []
    for table in progress(tables, "report: analyses of the test sets", total=len(tables)):
        units = clusters[table.key]
        subgroups, comparisons = subgroup_table(table, units)
        shapes, shape_summary, left_out = morphology_tables(table, units)
        counts = table_counts(table)  # read and checked once
        calibration, bins = calibration_tables(table, counts, units)
        for name, frame in (("subgroups", subgroups), ("comparisons", comparisons), ("morphology", shapes),
                            ("morphology_summary", shape_summary), ("calibration", calibration), ("bins", bins),
                            ("detection", detection_table(table, units)),
                            ("analysis_comparisons", analysis_comparisons(table, units, counts))):
            parts[name].append(frame)
        notes += [f"{table.title}: {note}" for note in left_out]
        title = titles.get(table.key, table.key)
        figures[table.key] = []
        fold_rows = subgroups[subgroups["variant"] == FOLD_MODELS] if not subgroups.empty else subgroups
        if not fold_rows.empty:
            scores = table.runs[0].per_image
            lesion = scores.loc[has_lesion(scores), "case_id"].nunique()
            figure = analysis_plots.subgroup_figure(fold_rows, f"{title} (lesion images only, n = {lesion})",
                                                    out / "plots" / f"{table.key}_subgroups")
            figures[table.key].append(figure)
            captions[figure] = subgroup_figure_caption(title, lesion)
        if not bins.empty:
            figure = analysis_plots.reliability_diagram(bins, title, out / "plots" / f"{table.key}_reliability")
            figures[table.key].append(figure)
            captions[figure] = reliability_caption(title, int(calibration["images"].max()))
    analyses = Analyses(_concat(parts["subgroups"]), _concat(parts["comparisons"]), _concat(parts["detection"]),
                        _concat(parts["morphology"]), _concat(parts["morphology_summary"]),
                        _concat(parts["calibration"]), _concat(parts["bins"]), _concat(parts["analysis_comparisons"]),
                        figures, notes, captions)
    out.mkdir(parents=True, exist_ok=True)
    # the three main files are always written (a header at least); the others where they hold rows
    _write(analyses.subgroups, out, "subgroups")
    _write(analyses.detection, out, "detection")
    _write(analyses.morphology, out, "morphology")
    for frame, name in ((analyses.subgroup_comparisons, "subgroup_comparisons"),
                        (analyses.morphology_summary, "morphology_summary"), (analyses.calibration, "calibration"),
                        (analyses.calibration_bins, "calibration_bins"),
                        (analyses.comparisons, "analysis_comparisons")):
        if not frame.empty:
            _write(frame, out, name)
    return analyses
