"""The HTML report opens in a real browser (headless Chromium) with its tables and figures."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from browser import CHROMIUM_FLAGS, chromium
from fake_results import LABELS, A, B, write_run
from PIL import Image

from busbench.config import DataConfig
from busbench.report.build import build_report
from busbench.report.figures import plots


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium()
    write_run(tmp_path / "runs", "busi", "model_a", A, LABELS)
    write_run(tmp_path / "runs", "busi", "model_b", B, LABELS)
    build_report(tmp_path / "runs", tmp_path / "out", qualitative=False)
    page = (tmp_path / "out" / "report.html").resolve().as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<table>") >= 3 and "UNeXt (model_a)" in dom and "UNeXt (model_b)" in dom
    assert dom.count('src="data:image/png;base64,') >= 3
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,6000", page], capture_output=True,
                   timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 10  # not a blank page
    blue = (abs(pixels[..., 0] - 31) < 30) & (abs(pixels[..., 1] - 119) < 30) & (abs(pixels[..., 2] - 180) < 30)
    assert blue.sum() > 200  # matplotlib's default blue: the embedded figures were decoded and drawn


def test_train_test_matrix_shows_names_cis_n_and_its_heat_map_in_chromium(tmp_path: Path) -> None:
    """The across-sources section as a reader sees it: display names (not keys), mean [CI] n (seen) per
    cell, and the heat map decoded and drawn in the matrix's colours."""
    browser = chromium()
    bra = DataConfig(dataset="busbra", root=Path("/data/BUSBRA"))
    cross = pd.DataFrame({"fold": [1, 1, 2, 2], "test_dataset": bra.key(), "case_id": ["x", "y", "x", "y"],
                          "dice": [0.5, 0.7, 0.4, 0.6], "nsd": [0.6, 0.8, 0.5, 0.7], "nsd_tolerance": 2.0,
                          "empty_case": ""})
    overlap = pd.DataFrame({"test_dataset": bra.key(), "fold": [1, 2], "test_images": 3, "seen_in_training": 1,
                            "handling": "drop", "case_ids": "z"})
    write_run(tmp_path / "runs", "busi", "model_a", A, LABELS, settings=(
        f"eval.cross_datasets=[{{dataset: busbra, root: {bra.root}}}]",), **{"cross_dataset_metrics.csv": cross,
                                                                           "cross_dataset_overlap.csv": overlap})
    build_report(tmp_path / "runs", tmp_path / "out", qualitative=False)
    page = (tmp_path / "out" / "report.html").read_text()
    section = tmp_path / "out" / "across_sources.html"  # the page's head (style) and its last section alone
    section.write_text(page[:page.index("<body>") + len("<body>")] + page[page.rindex("<h2>Across sources"):])
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", section.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", dom)
    assert header is not None and re.findall(r"<th>(.*?)</th>", header.group(1)) == ["Model", "Trained on", "BUS-BRA",
                                                                                     "BUSI"]
    assert re.search(r"<td>0\.550 \[0\.\d{3}, 0\.\d{3}\] n=2 \(1 seen\)</td>", dom)  # BUSI -> BUS-BRA
    lesion = [i for i, label in enumerate(LABELS) if label != "normal"]  # the matrix scores lesion images
    own = np.mean([np.mean(np.asarray(A[k])[lesion]) for k in (1, 2)])  # BUSI -> BUSI: the fold models' means
    assert re.search(rf"<td>{own:.3f} \[0\.\d{{3}}, 0\.\d{{3}}\] n={len(lesion)}</td>", dom)
    assert dom.count('src="data:image/png;base64,') == 1 and bra.key() not in dom
    shot = tmp_path / "matrix.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1000,1000", section.resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    for dice in (0.55, own):  # each cell's viridis colour fills a block of the drawn heat map
        colour = np.array(plt.get_cmap("viridis")(dice)[:3]) * 255
        assert (np.abs(pixels - colour).max(axis=2) < 12).sum() > 2000


def test_one_model_report_has_readable_headers_and_says_why_statistics_are_missing(tmp_path: Path) -> None:
    write_run(tmp_path / "runs", "busi", "model_a", A, LABELS)
    build_report(tmp_path / "runs", tmp_path / "out", qualitative=False)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<th>False-positive rate (mean)</th>" in page and "false_positive_rate_mean" not in page
    assert "<th>Lesion Dice (mean)</th>" in page
    assert "No paired comparisons: they need at least two models on this dataset, and only UNeXt" in page
    assert "No average ranks across datasets: they need two or more datasets, and these runs hold 1 (BUSI)" in page


def captured_figure(monkeypatch: pytest.MonkeyPatch) -> list[plt.Figure]:
    """The figures the plot functions would save, kept open for inspection."""
    figures: list[plt.Figure] = []
    monkeypatch.setattr(plots, "save", lambda figure, path: figures.append(figure) or path)
    return figures


def test_qualitative_panels_fill_the_prediction_and_show_its_dice(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    image = np.full((40, 40), 90, np.uint8)
    truth = np.zeros((40, 40), bool)
    truth[10:30, 10:30] = True                     # 400 px
    large = np.zeros((40, 40), bool)
    large[2:38, 2:38] = True                       # 1296 px, covering the truth: Dice = 800 / 1696
    plots.qualitative_grid([("best: x", image, truth, {"m": large})], tmp_path / "grid")
    rendered = np.asarray(Image.open(tmp_path / "grid.png").convert("RGB")).astype(int)
    figures = captured_figure(monkeypatch)
    plots.qualitative_grid([("best: x", image, truth, {"m": large})], tmp_path / "grid2")
    axes = figures[0].axes
    assert axes[2].get_xlabel() == f"Dice {800 / 1696:.3f}" and axes[1].get_xlabel() == ""
    third = rendered[:, 2 * rendered.shape[1] // 3:]  # the prediction panel
    red = (third[..., 0] > third[..., 1] + 40) & (third[..., 0] > third[..., 2] + 40)
    panel = (abs(third - 90).sum(axis=2) < 200) | red   # grey image or red fill: the panel's area
    assert red.sum() > 0.5 * panel.sum()  # filled, not a thin outline
    green = (third[..., 1] > third[..., 0] + 40) & (third[..., 1] > third[..., 2] + 40)
    assert green.sum() > 40  # the ground truth's outline drawn over the prediction


def test_single_epoch_curves_have_markers_and_narrow_titles_fit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    figures = captured_figure(monkeypatch)
    log = pd.DataFrame({"epoch": [1], "train_loss": [0.5], "val_dice": [0.7]})
    plots.training_curves({1: log, 2: log}, "val_lesion_dice", "unet_efficientnet_b4 on synthetic-1a2b3c4d",
                          tmp_path / "c")
    lines = [line for axis in figures[0].axes for line in axis.get_lines()]
    assert len(lines) == 4 and [line.get_marker() for line in lines] == ["o", "s", "o", "s"]  # a shape per fold
    assert figures[0].axes[1].get_legend().get_title().get_text() == "a marker per epoch"
    plots.dice_boxplot(pd.DataFrame({"unet": [0.5, 0.7, 0.9]}), "synthetic-1a2b3c4d (held-out test set)",
                       tmp_path / "b")
    figure = figures[1]
    figure.tight_layout()
    figure.canvas.draw()
    title = figure.axes[0].title.get_window_extent()
    width = figure.get_size_inches()[0] * figure.dpi
    assert title.x0 >= 0 and title.x1 <= width
