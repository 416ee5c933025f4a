"""The report page's section of the analyses (``report.analyses``): tables, their notes, figures."""

from __future__ import annotations

import html

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.report.analyses.analysis_files import Analyses
from busbench.report.analyses.display import (
    ANALYSIS_MEASURES,
    calibration_display,
    calibration_note,
    detection_display,
    detection_note,
    joined,
    morphology_display,
    subgroup_display,
)
from busbench.report.analyses.notes import (
    ANALYSIS_COMPARISONS_NOTE,
    CALIBRATION_NOTE,
    DETECTION_NOTE,
    MORPHOLOGY_NOTE,
    SUBGROUP_COMPARISONS_NOTE,
    SUBGROUP_NOTE,
)
from busbench.report.number_format import SCORE_PLACES, number_text, p_text
from busbench.report.page.html import html_figure, html_table

ALPHA = 0.05


def comparisons_note(shown: pd.DataFrame, significant: pd.DataFrame) -> str:
    """One line on the paired tests of detection, morphology and calibration, naming the differences
    that hold after Holm's correction."""
    found = "; ".join(f"{r['analysis']} {ANALYSIS_MEASURES.get(str(r['measure']), str(r['measure']))} "
                      f"({r['variant']}): {r['model_a']} vs {r['model_b']}, difference "
                      f"{_signed(float(r['difference']))} over units ({_signed(float(r['difference_images']))} per "
                      f"image), p (Holm) {p_text(float(r['p_holm']))}" for _, r in significant.iterrows())
    return (f"Paired tests of detection, morphology and calibration ({len(shown)} tests, in "
            "analysis_comparisons.md): "
            + (f"differences at Holm-adjusted p < {ALPHA}: {found}" if found else f"none at Holm-adjusted p < {ALPHA}")
            + ". " + ANALYSIS_COMPARISONS_NOTE)


def _signed(value: float) -> str:
    text = number_text(value, SCORE_PLACES)
    return text if text.startswith(("-", "–")) else f"+{text}"


def analyses_html(analyses: Analyses, titles: dict[str, str]) -> list[str]:
    """HTML parts: per test set, subgroups, detection, morphology and calibration. The analyses' rows name
    their test set by its title (``titles``: table key -> title); their figures are keyed by table key."""
    parts = ["<h2>Analyses: subgroups, detection, morphology, calibration</h2>"]
    parts += [f"<p class='note'>{html.escape(note)}.</p>" for note in analyses.notes]
    table_keys = {title: key for key, title in titles.items()}
    for title in dict.fromkeys(analyses.detection.get("test_set", pd.Series(dtype=str))):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        subgroups = analyses.subgroups
        if not subgroups.empty and (subgroups["test_set"] == title).any():
            shown = joined(subgroup_display(subgroups[subgroups["test_set"] == title]))
            parts += ["<h4>Lesion images by subgroup (fold models)</h4>", html_table(shown, readable=False),
                      f"<p class='note'>{html.escape(SUBGROUP_NOTE)}</p>"]
            comparisons = analyses.subgroup_comparisons
            if not comparisons.empty and (comparisons["test_set"] == title).any():
                parts.append(f"<p class='note'>subgroup_comparisons.csv: {html.escape(SUBGROUP_COMPARISONS_NOTE)}</p>")
        detection = analyses.detection[analyses.detection["test_set"] == title]
        parts += ["<h4>Image-level lesion detection</h4>",
                  html_table(joined(detection_display(detection)), readable=False),
                  f"<p class='note'>{html.escape(DETECTION_NOTE + detection_note(detection))}</p>"]
        summary = analyses.morphology_summary
        if not summary.empty and (summary["test_set"] == title).any():
            chosen = summary[(summary["test_set"] == title) & (summary["variant"] == FOLD_MODELS)]
            parts += ["<h4>Lesion morphology (fold models)</h4>",
                      html_table(joined(morphology_display(chosen)), readable=False),
                      f"<p class='note'>{html.escape(MORPHOLOGY_NOTE)}</p>"]
        calibration = analyses.calibration
        if not calibration.empty and (calibration["test_set"] == title).any():
            rows = calibration[calibration["test_set"] == title]
            parts += ["<h4>Calibration of the ensemble</h4>",
                      html_table(joined(calibration_display(rows)), readable=False),
                      f"<p class='note'>{html.escape(CALIBRATION_NOTE + calibration_note(rows))}</p>"]
        compared = analyses.comparisons
        if not compared.empty and (compared["test_set"] == title).any():
            shown = compared[(compared["test_set"] == title)]
            significant = shown[shown["p_holm"] < ALPHA]
            parts.append(f"<p class='note'>{html.escape(comparisons_note(shown, significant))}</p>")
        parts.extend(html_figure(path, analyses.captions[path])
                     for path in analyses.figures.get(table_keys.get(title, title), []))
    return parts
