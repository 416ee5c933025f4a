"""`busbench report --style`: paper figures one 3.5 in column wide with Type 42 fonts only (pdffonts, as
IEEE PDF eXpress checks), screen figures wider; every figure on the HTML page; with 12 models nothing
in the cost plot or the CD diagram overlaps (texts against texts, markers, lines, legend and axes)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from absent import missing
from cli_runner import run_cli
from fake_results import write_run
from figure_geometry import (
    assert_apart,
    assert_clear,
    assert_inside,
    kept_figures,
    line_box,
    marker_boxes,
    segment_boxes,
    text_boxes,
)
from matplotlib.colors import to_rgba
from PIL import Image

from busbench.evaluate.reliability_counts import ReliabilityCounts
from busbench.report.build import build_report
from busbench.report.figures import analysis_plots, plots
from busbench.report.figures.plots import accuracy_vs_cost
from busbench.report.figures.ranks_plot import cliques, critical_difference_diagram
from busbench.report.figures.style import STYLES, figure_style
from busbench.report.statistics.intervals_and_tests import critical_difference
from busbench.report.tables.publication import lesion_column

LABELS = ["benign"] * 4 + ["malignant"] * 4 + ["normal"] * 2
CASES = [f"c{i:02d}" for i in range(len(LABELS))]
RNG = np.random.default_rng(3)
ALLOWED_FONTS = {"TrueType", "CID TrueType", "Type 1", "Type 1C", "CID Type 0", "CID Type 0C"}
# 12 models: (name, GFLOPs, parameters in M, mean Dice); several close together, two at one cost
TWELVE = [("UNeXt", 0.42, 1.47, 0.791), ("CMUNeXt-S", 0.29, 0.42, 0.804), ("CMUNeXt", 1.41, 3.15, 0.812),
          ("CMU-Net", 22.4, 49.9, 0.815), ("U-Net (width 8)", 1.71, 1.94, 0.821), ("U-Net", 27.3, 31.0, 0.819),
          ("Attention U-Net", 33.4, 34.9, 0.817), ("UNet++", 69.2, 36.6, 0.823), ("UNet 3+", 99.4, 26.9, 0.814),
          ("TransUNet", 24.6, 105.3, 0.826), ("Swin-UNet", 5.9, 27.2, 0.808), ("U-KAN", 6.9, 25.4, 0.811)]


def _calibration() -> pd.DataFrame:
    counts = ReliabilityCounts()
    for i, (case, label) in enumerate(zip(CASES, LABELS)):
        truth = np.zeros((8, 8), bool)
        truth[2:6, 2:6] = label != "normal"
        counts.add(case, i, np.clip(truth * 0.7 + RNG.uniform(0, 0.3, (8, 8)), 0, 1), truth)
    return counts.frame()


@pytest.fixture(scope="module")
def paper_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three models on two datasets (ranks, CD diagram), with subgroups, the ensemble's calibration and a
    cross-dataset score (the heat map), reported in the paper style."""
    root = tmp_path_factory.mktemp("runs")
    cross = pd.DataFrame({"fold": [1, 1, 2, 2], "test_dataset": "busbra", "case_id": ["x", "y"] * 2,
                          "dice": [0.5, 0.7, 0.4, 0.6], "nsd": [0.6, 0.8, 0.5, 0.7], "nsd_tolerance": 2.0,
                          "empty_case": ""})
    seen = pd.DataFrame({"test_dataset": "busbra", "fold": [1, 2], "test_images": 2, "seen_in_training": 0,
                         "handling": "drop", "case_ids": ""})
    for dataset in ("busi", "busbra"):
        for i, model in enumerate(("model_a", "model_b", "model_c")):
            scores = {f: np.clip(RNG.normal(0.6 + 0.1 * i, 0.1, len(LABELS)), 0, 1).tolist() for f in (1, 2)}
            extra = {"ensemble_calibration.csv": _calibration()}
            if dataset == "busi" and i == 0:
                extra |= {"cross_dataset_metrics.csv": cross, "cross_dataset_overlap.csv": seen}
            write_run(root, dataset, model, scores, LABELS, groups=list(range(len(LABELS))), **extra)
    build_report(root, root / "report", qualitative=False, style="paper")
    return root / "report"


def test_paper_pdfs_embed_no_type3_font(paper_report: Path) -> None:
    pdffonts = shutil.which("pdffonts")
    if pdffonts is None:
        missing("pdffonts not found (Debian package poppler-utils)", "CI installs it in .ci/run")
    pdfs = sorted((paper_report / "plots").glob("*.pdf"))
    kinds = {"critical_difference", "busi_dice_vs_cost", "busi_subgroups", "busi_reliability", "train_test_matrix",
             "busi_dice_boxplot", "busi_dice_forest", "busi_model_a_training"}
    assert kinds <= {pdf.stem for pdf in pdfs}
    for pdf in pdfs:
        listing = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
        rows = listing.splitlines()[2:]  # under the header and its rule
        types = {re.split(r"\s{2,}", row.strip())[1] for row in rows}
        assert rows and types <= ALLOWED_FONTS, f"{pdf.name}: {types}"


def test_paper_figures_are_one_column_wide_and_screen_figures_wider(paper_report: Path, tmp_path: Path) -> None:
    pngs = sorted((paper_report / "plots").glob("*.png"))
    assert len(pngs) >= 8
    for png in pngs:
        assert Image.open(png).size[0] == round(3.5 * 150), png.name  # 150 dpi
    table = _cost_table(TWELVE[:3])
    screen = Image.open(accuracy_vs_cost(table, "t", tmp_path / "cost")).size[0]  # outside figure_style: screen
    assert screen / 150 > 7


def test_every_figure_is_embedded_in_the_page(paper_report: Path) -> None:
    page = (paper_report / "report.html").read_text()
    pngs = sorted((paper_report / "plots").glob("*.png"))
    assert {"train_test_matrix", "busi_subgroups", "busbra_reliability"} <= {png.stem for png in pngs}
    for png in pngs:
        assert base64.b64encode(png.read_bytes()).decode() in page, f"{png.name} is not on the page"


def _cost_table(models: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    """Report-table rows: each model's fold models and its ensemble (5 networks, a little better)."""
    dice = f"{lesion_column('dice')}_mean"
    rows = [{"model": m, "row": "fold models", "gflops": g, "params_m": p, dice: d} for m, g, p, d in models]
    rows += [{"model": m, "row": "ensemble", "gflops": 5 * g, "params_m": 5 * p, dice: d + 0.01}
             for m, g, p, d in models]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_cost_plot_labels_overlap_nothing_with_12_models(style: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    figures = kept_figures(monkeypatch)
    with figure_style(style):
        accuracy_vs_cost(_cost_table(TWELVE), "Dice against cost", tmp_path / "cost")
    figure = figures[0]
    legends = [axis.get_legend() for axis in figure.axes if axis.get_legend() is not None]
    legend_boxes = [legend.get_window_extent() for legend in legends]
    for axis in figure.axes:
        labels = text_boxes(figure, list(axis.texts))
        assert len(labels) == len(TWELVE)
        assert_apart(labels, "point labels")
        assert_inside(labels, axis.get_window_extent(), "point labels inside the axes")
        centres = np.vstack([c.get_offset_transform().transform(c.get_offsets()) for c in axis.collections])
        assert_clear(labels, marker_boxes(figure, centres, 2.0), "labels over markers")
        assert_clear(labels + [axis.get_window_extent()], legend_boxes, "legend")
        front = next(line for line in axis.get_lines() if line.get_linestyle() == "--")  # the Pareto step line
        assert_clear(labels, segment_boxes(figure, front), "labels on the Pareto front")
        ticks = text_boxes(figure, [t for t in axis.get_xticklabels(minor=True) + axis.get_xticklabels()
                                    if axis.get_window_extent().x0 - 5 <= t.get_window_extent().x0])
        assert_apart(ticks, "x tick labels")
    if style == "paper":
        sizes = {t.get_fontsize() for axis in figure.axes for t in axis.texts}
        assert sizes and min(sizes) >= 7


def test_cliques_join_ranks_closer_than_the_critical_difference() -> None:
    ranks = pd.Series({"d": 5.0, "a": 1.0, "c": 3.0, "b": 1.5})
    assert cliques(ranks, 2.1) == [(0, 2), (2, 3)]  # a-b-c (3 - 1 < 2.1), c-d; b-c inside a-b-c
    assert cliques(ranks, 0.4) == []


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("suffix", ["", " (ResNet-34 encoder)"])  # names that fit a column, and longer ones
def test_cd_diagram_lines_cross_no_name_with_12_models(style: str, suffix: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    figures = kept_figures(monkeypatch)
    ranks = pd.Series([1.6, 2.1, 3.4, 3.5, 5.0, 6.2, 6.3, 7.8, 8.5, 10.1, 11.0, 12.0],
                      [m + suffix for m, *_ in TWELVE])
    cd = critical_difference(12, 3)
    with figure_style(style):
        critical_difference_diagram(ranks, cd, 3, tmp_path / "cd")
    figure = figures[0]
    axis = figure.axes[0]
    texts = text_boxes(figure, list(axis.texts))
    names = [t for t in axis.texts if any(t.get_text().replace("\n", " ").startswith(m) for m in ranks.index)]
    assert len(names) == 12
    assert_apart(texts, "texts")
    assert_inside(texts, figure.bbox, "texts inside the figure")
    assert_clear(texts, [line_box(figure, line) for line in axis.get_lines()], "lines through texts")
    rank_lines = [line for line in axis.get_lines() if line.get_color() == "tab:blue"]  # per model: down, across
    downs, acrosses = rank_lines[0::2], rank_lines[1::2]
    for i, down in enumerate(downs):  # no model's line crosses another's
        assert_clear([line_box(figure, down)], [line_box(figure, a) for j, a in enumerate(acrosses) if j != i],
                     f"rank line {i}")
    bars = [line for line in axis.get_lines() if line.get_linewidth() == 3]
    assert len(bars) == len(cliques(ranks, cd)) > 1
    assert figure.get_size_inches()[0] == pytest.approx(STYLES[style].width(7.0))


def test_paper_qualitative_grid_puts_cases_across_and_outlines_the_truth_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = kept_figures(monkeypatch)
    image = np.full((40, 40), 90, np.uint8)
    truth = np.zeros((40, 40), bool)
    truth[10:30, 10:30] = True
    rows = [(f"{case}: x", image, truth, {"UNeXt": np.roll(truth, 5, axis=1), "U-Net": truth})
            for case in ("worst", "median", "best")]
    with figure_style("paper"):
        plots.qualitative_grid(rows, tmp_path / "grid")
    figure = figures[0]
    assert figure.get_size_inches()[0] == pytest.approx(3.5)
    grid = np.array(figure.axes).reshape(3, 3)  # rows: image + ground truth, UNeXt, U-Net; columns: the cases
    assert [axis.get_title() for axis in grid[0]] == ["worst: x", "median: x", "best: x"]
    assert [axis.get_xlabel() for axis in grid[1]] == [f"{2 * 300 / 800:.3f}"] * 3  # Dice of a 5 px shift
    lime = to_rgba("lime")
    for axis in grid.ravel():  # each panel: the truth's dashed green outline
        outlines = [c for c in axis.collections if np.allclose(c.get_edgecolor()[0], lime)]
        assert len(outlines) == 1 and outlines[0].get_linestyle()[0][1] is not None


def test_report_cli_takes_the_style_and_refuses_an_unknown_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "runs", "busi", "model_a", {1: [0.7] * len(LABELS), 2: [0.8] * len(LABELS)}, LABELS)
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "report", str(tmp_path / "runs"), "--out", str(out), "--style", "poster") == 2
    assert "--style poster: no such figure style; use one of: screen, paper" in capsys.readouterr().err
    assert not out.exists()
    assert run_cli(monkeypatch, "report", str(tmp_path / "runs"), "--out", str(out), "--no-qualitative",
                   "--style", "paper") == 0
    assert Image.open(out / "plots" / "busi_dice_boxplot.png").size[0] == round(3.5 * 150)


def test_a_figure_drawn_again_is_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No creation date in the PDF: a report rebuilt from the same runs a day later leaves its figures' bytes
    (and a committed report's history) unchanged. (matplotlib dates a PDF by SOURCE_DATE_EPOCH where set.)"""
    written = []
    for name, day in (("first", 0), ("second", 86_400)):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1_700_000_000 + day))
        figure = plots.plt.figure(figsize=(2, 2))
        figure.gca().plot([0, 1], [1, 0])
        plots.save(figure, tmp_path / name)
        written.append({suffix: (tmp_path / name).with_suffix(suffix).read_bytes() for suffix in (".png", ".pdf")})
    assert written[0] == written[1]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_subgroup_tick_labels_are_wrapped_until_apart(style: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """BUSI's lesion-size tertiles name 5-digit pixel ranges ("(5628-21649 px)"), wider than a slot of a 3.5 in
    panel: the labels are broken after hyphens until neighbours are apart, and stay on the figure."""
    sizes = ["small (269-1726 px)", "medium (1733-5560 px)", "large (5628-21649 px)"]
    rows = pd.DataFrame([{"factor": factor, "subgroup": subgroup, "model": model, "dice_mean": 0.6,
                          "dice_ci_low": 0.5, "dice_ci_high": 0.7, "images": 43}
                         for model in ("CMUNeXt-S", "U-Net (width 8)", "UNeXt")
                         for factor, subgroups in (("class", ["benign", "malignant"]), ("lesion size", sizes))
                         for subgroup in subgroups])
    figures = kept_figures(monkeypatch)
    with figure_style(style):
        analysis_plots.subgroup_figure(rows, "BUSI (lesion images only, n = 129)", tmp_path / "subgroups")
    figure = figures[0]
    ticks = text_boxes(figure, [t for axis in figure.axes for t in axis.get_xticklabels()])
    assert len(ticks) == 5
    assert_apart(ticks, "subgroup tick labels")
    assert all(a.x1 + 3 * figure.dpi / 72 <= b.x0 for a, b in zip(ticks, ticks[1:])), "tick labels touch"
    assert_inside(ticks, figure.bbox, "tick labels on the figure")
    shown = [t.get_text() for t in figure.axes[1].get_xticklabels()]
    assert shown[2].replace("\n", " ").replace("- ", "-") == "large (5628-21649 px) n=43"  # every character kept

    # a manifest's own subgroup names: a spaced hyphen keeps its spaces, a line's breaks come at spaces or hyphens
    assert analysis_plots._wrapped("age 40 - 60\nn=9", 20) == "age 40 - 60\nn=9"
    assert analysis_plots._wrapped("age 40 - 60", 6) == "age 40\n- 60"
