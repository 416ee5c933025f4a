"""The report as one self-contained HTML page: tables inline, figures embedded as data URIs, no
scripts or files needed beside it, so it opens from disk in any browser."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from busbench.layout.atomic import write_text
from busbench.log import counted
from busbench.report.names import readable_header
from busbench.report.number_format import OTHER_PLACES, SCORE_PLACES, number_text, p_text, shown_frame
from busbench.report.page.page_contents import Report
from busbench.report.tables.false_alarms import FALSE_ALARM_NOTE, false_alarm_display
from busbench.report.tables.model_rows import lesion_images
from busbench.report.tables.publication import cost_notes, cost_table, display_table
from busbench.report.tables.publication import notes as table_notes
from busbench.report.tables.train_test_matrix import MATRIX_NOTE

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; margin: 0.5em 0; }
.wide { overflow-x: auto; }
.note { color: #555; font-size: 0.85em; }
"""


def html_table(frame: pd.DataFrame, index: bool = False, readable: bool = True) -> str:
    """An HTML table; ``readable``: headers rewritten by ``readable_header`` (not for dataset names)."""
    shown = frame.reset_index() if index else frame
    head = "".join(f"<th>{html.escape(readable_header(c) if readable else str(c))}</th>" for c in shown.columns)
    body = []
    for _, row in shown.iterrows():
        cells = []
        for value in row:
            text = html.escape(number_text(value, SCORE_PLACES) if isinstance(value, float) else str(value))
            cells.append(f"<td>{text.replace('**', '')}</td>" if "**" not in text else
                         f"<td><b>{text.replace('**', '')}</b></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


FIGURE_KINDS = ("dice_forest", "dice_boxplot", "dice_vs_cost", "qualitative", "training", "critical_difference",
                "train_test_matrix", "subgroups", "reliability")


def html_figure(path: Path, caption: str = "") -> str:
    """A PNG embedded as a data URI, so the page needs no file beside it, with its ``caption`` under it."""
    data = base64.b64encode(path.read_bytes()).decode()
    kind = next((k for k in FIGURE_KINDS if path.stem.endswith(k)), "figure")  # the stem holds run keys
    under = f"<figcaption class='note'>{html.escape(caption)}</figcaption>" if caption else ""
    image = f'<img alt="{html.escape(kind.replace("_", " "))}" src="data:image/png;base64,{data}">'
    return f"<figure>{image}{under}</figure>"


def _setup_section(report: Report) -> list[str]:
    parts = ["<h2>Setup</h2><p class='note'>From the run folders (config.yaml, environment.json, log.csv, "
             "postprocessing.json, the split file). The keys and checksums here are the legend of the run "
             "folders; tables and figures name models and datasets as their papers do.</p>"]
    for heading, frame in report.setup.items():
        shown = frame.fillna("–")
        if "Model" in shown:  # a record per model has more fields than a page is wide: one column per model
            shown = shown.astype(str).set_index("Model").T.rename_axis("Setting")
        parts += [f"<h3>{html.escape(heading)}</h3>", html_table(shown, index="Model" in frame, readable=False)]
    return parts


def _table_section(report: Report, key: str, table: pd.DataFrame) -> list[str]:
    parts = [f"<h2>{html.escape(report.titles.get(key, key))}</h2>", "<h3>Accuracy</h3>",
             html_table(display_table(table, ("**", "**")), readable=False),
             f"<p class='note'>{html.escape(table_notes(table))}</p>"]
    alarms = report.false_alarms.get(key)
    if alarms is not None:
        parts += ["<h3>False alarms on normal images</h3>", html_table(false_alarm_display(alarms), readable=False),
                  f"<p class='note'>{html.escape(FALSE_ALARM_NOTE)}</p>"]
    parts += ["<h3>Cost per test image</h3>", html_table(cost_table(table, ("**", "**")), readable=False),
              f"<p class='note'>{html.escape(cost_notes(table))}</p>"]
    matrix = report.p_values[key]
    if matrix.shape[0] > 1:
        parts.append(f"<h3>Paired comparisons (Holm-adjusted p-values, Dice; {html.escape(lesion_images(table))})"
                     "</h3>")
        shown = shown_frame(matrix, every_cell_a_p=True).rename_axis("Model")
        parts.append(html_table(shown, index=True, readable=False))  # model names stay as they are
        comparisons = shown_frame(report.comparisons[key])
        parts.append(html_table(comparisons.rename(columns=readable_header), readable=False))
    else:
        parts.append("<p class='note'>No paired comparisons: they need at least two models on this "
                     f"dataset, and only {html.escape(', '.join(map(str, matrix.index)) or 'none')} was run. "
                     "Add models to the grid to compare them.</p>")
    parts.extend(html_figure(p, report.captions.get(p, "")) for p in report.figures.get(key, []))
    return parts


def _ranks_section(report: Report) -> list[str]:
    if report.ranks is None:
        return [f"<p class='note'>{html.escape(report.ranks_note)}</p>"]
    parts = ["<h2>Average ranks across datasets</h2><p class='note'>By the fold models' mean Dice on each dataset's "
             f"lesion images only ({html.escape(report.ranked_images())}).</p>",
             html_table(shown_frame(report.ranks.rename("Average rank").to_frame()).rename_axis("Model"), index=True,
                        readable=False)]
    if report.friedman is not None:
        f = report.friedman
        parts.append(f"<p class='note'>Friedman test over {len(report.ranked_tables)} datasets: chi-square "
                     f"{f['chi2']:.{OTHER_PLACES}f} (df {f['df']:.0f}), p = {p_text(f['p_value'])}; Iman-Davenport F "
                     f"{f['iman_davenport_f']:.{OTHER_PLACES}f} (df {f['f_df1']:.0f}, {f['f_df2']:.0f}), "
                     f"p = {p_text(f['f_p_value'])}.</p>")
    if report.cd is not None:
        parts.append(f"<p class='note'>Nemenyi critical difference at 0.05 ({len(report.ranks)} models, "
                     f"studentized range): {report.cd:.{OTHER_PLACES}f}.</p>")
    parts.extend(html_figure(p, report.captions.get(p, "")) for p in report.figures.get("ranks", []))
    return parts


def write_html(report: Report, analyses: Sequence[str] = ()) -> Path:
    """The page; ``analyses``: the HTML parts of ``analyses_section.analyses_html``, placed before the
    cross-dataset part."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>busbench report</title>"
             f"<style>{STYLE}</style></head><body><h1>busbench report</h1>"]
    parts.append(f"<p>{counted(len(report.runs), 'run')}: " + ", ".join(html.escape(f"{r.title} on {r.dataset_title}")
                                                             for r in report.runs) + ".</p>")
    if report.skipped:
        parts.append("<p class='note'>Skipped: " + "; ".join(html.escape(s) for s in report.skipped) + "</p>")
    parts.append("<p class='note'>Every model is scored on its dataset's held-out test set, at the original image "
                 "size; a table holds only runs scored on one test set (the same test-set checksum). Mean ± sample "
                 "std over the fold models; 95 % CIs: bootstrap of the per-image score averaged over fold models, "
                 "resampling whole patient/duplicate groups (each table states its unit); the best value of each "
                 "column in bold. Segmentation is scored on the lesion images (ground truth not empty); normal images "
                 "count at image level (false alarms), beside the all-image Dice. Paired tests, ranks and the Dice "
                 "figures: lesion images only; Wilcoxon signed-rank on per-group mean Dice, Holm-corrected across "
                 "pairs (n/a where nothing can be compared); † marks a row whose lesion Dice differs from its table's "
                 "best row. Empty masks: both empty, Dice 1 and HD95 0; one empty, Dice 0 and HD95 the image "
                 "diagonal.</p>")
    parts += _setup_section(report)
    for key, table in report.tables.items():
        parts += _table_section(report, key, table)
    if report.normal is not None:
        parts.append("<h2>Normal and lesion images</h2><p class='note'>False-positive rate: share of normal test "
                     "images with any predicted lesion. Dice on lesion images only.</p>")
        parts.append(html_table(shown_frame(report.normal)))
    parts += _ranks_section(report)
    parts.extend(analyses)
    if report.cross is not None:
        parts.append("<h2>Across sources: trained on x tested on</h2>")
        parts.append(f"<p class='note'>{html.escape(MATRIX_NOTE)}</p>")
        parts.append(html_table(report.cross, readable=False))
        parts.extend(html_figure(p, report.captions.get(p, "")) for p in report.figures.get("across_sources", []))
    parts.append("</body></html>")
    path = report.out / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text("\n".join(parts), path)
    return path
