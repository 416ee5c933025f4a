"""The analyses breast-ultrasound papers report beside the main table, one file each in the report
folder (each with a Markdown copy):

* ``subgroups.csv`` (+ ``subgroups.tex``, ``subgroup_comparisons.csv``, a figure per test set):
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
from busbench.markdown import markdown_table, shown_numbers
from busbench.progress import progress
from busbench.report.analyses.calibration import calibration_tables, table_counts
from busbench.report.analyses.comparisons import analysis_comparisons
from busbench.report.analyses.detection import detection_table
from busbench.report.analyses.morphology import morphology_tables
from busbench.report.analyses.notes import NOTES, SUBGROUP_CAPTION, reliability_caption, subgroup_figure_caption
from busbench.report.analyses.subgroups import subgroup_table
from busbench.report.collect import RunTable
from busbench.report.figures import analysis_plots
from busbench.report.scored_sets import has_lesion
from busbench.report.tables.publication import to_latex


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


def interval_text(row: pd.Series, name: str, places: int, value: str | None = None) -> str:
    """``value [low, high]`` of ``row``'s ``value`` column (default ``<name>_mean``) and ``<name>_ci_*``."""
    column = value or f"{name}_mean"
    if pd.isna(row.get(column)):
        return "–"
    if pd.isna(row.get(f"{name}_ci_low")):
        return f"{row[column]:.{places}f}"
    return f"{row[column]:.{places}f} [{row[f'{name}_ci_low']:.{places}f}, {row[f'{name}_ci_high']:.{places}f}]"


def subgroup_display(subgroups: pd.DataFrame) -> pd.DataFrame:
    """The subgroup table as printed: one line per test set, factor, subgroup and model (fold models)."""
    shown = subgroups[subgroups["variant"] == FOLD_MODELS]
    return pd.DataFrame({"Test set": shown["test_set"], "Factor": shown["factor"], "Subgroup": shown["subgroup"],
                         "Model": shown["model"], "n": shown["images"],
                         "Dice [95% CI]": [interval_text(r, "dice", 3) for _, r in shown.iterrows()],
                         "HD95 [95% CI]": [interval_text(r, "hd95", 1) for _, r in shown.iterrows()]})


def number_text(value: float, places: int = 3) -> str:
    """A figure as printed: ``places`` decimals, "–" where there is none."""
    return "–" if pd.isna(value) else f"{value:.{places}f}"


def _interval(low: float, high: float, places: int) -> str:
    return "" if pd.isna(low) else f"[{low:.{places}f}, {high:.{places}f}]"


def subgroup_latex(subgroups: pd.DataFrame) -> str:
    """``subgroups.tex``: one booktabs table per test set, a group of rows per model, each CI under its
    mean in small type (the main tables' layout), so that it fits a one-column page."""
    shown = subgroups[subgroups["variant"] == FOLD_MODELS]
    tables = []
    for number, (title, rows) in enumerate(shown.groupby("test_set", sort=False), start=1):
        rows = rows.sort_values("model", kind="stable")
        frame = pd.DataFrame({
            "Model": rows["model"].where(rows["model"].ne(rows["model"].shift()), ""),
            "Factor": rows["factor"], "Subgroup": rows["subgroup"].astype(str), "n": rows["images"].astype(str),
            "Dice": [number_text(v, 3) for v in rows["dice_mean"]],
            "Dice 95 % CI": [_interval(a, b, 3) for a, b in zip(rows["dice_ci_low"], rows["dice_ci_high"])],
            "HD95 (px)": [number_text(v, 1) for v in rows["hd95_mean"]],
            "HD95 95 % CI": [_interval(a, b, 1) for a, b in zip(rows["hd95_ci_low"], rows["hd95_ci_high"])]})
        tables.append(to_latex(frame, f"{SUBGROUP_CAPTION} ({title}).", "Fold models: mean over the k fold models.",
                               f"subgroups-{number}", below={"Dice 95 % CI": "Dice", "HD95 95 % CI": "HD95 (px)"}))
    return "\n".join(tables)


def _write(frame: pd.DataFrame, out: Path, name: str, display: pd.DataFrame | None = None) -> None:
    """``name``.csv, and its Markdown copy with the note of which images it covers (``notes.NOTES``)."""
    write_csv(frame, out / f"{name}.csv")
    shown = (shown_numbers(frame) if display is None else display).astype(object)
    write_text(markdown_table(shown.where(shown.notna(), "n/a")) + "\n" + NOTES[name] + "\n", out / f"{name}.md")


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
    _write(analyses.subgroups, out, "subgroups", subgroup_display(analyses.subgroups))
    write_text(subgroup_latex(analyses.subgroups), out / "subgroups.tex")
    _write(analyses.detection, out, "detection")
    _write(analyses.morphology, out, "morphology")
    for frame, name in ((analyses.subgroup_comparisons, "subgroup_comparisons"),
                        (analyses.morphology_summary, "morphology_summary"), (analyses.calibration, "calibration"),
                        (analyses.calibration_bins, "calibration_bins"),
                        (analyses.comparisons, "analysis_comparisons")):
        if not frame.empty:
            _write(frame, out, name)
    return analyses
