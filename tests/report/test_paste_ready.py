"""Every paste-ready file of a 3- and a 12-model report: each .tex compiles and fits a 3.5 in column and a
7 in two-column page (no Overfull \\hbox, no "Float too large for page"), setup.tex is one page, each
Markdown table's numbers follow report.number_format's rule column by column, and no snake_case key
reaches a .md, .tex or the HTML page (setup.md and the page's setup section are the legend of keys)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_results import write_run
from pdflatex_check import compile_log, overfull_boxes, pages

from busbench.environment import processor_name
from busbench.report.build import build_report
from busbench.report.number_format import shown_frame
from busbench.report.page.setup_section import ARCHITECTURES, _processor
from busbench.report.tables.publication import _shares, best_rows

LABELS = ["benign"] * 8 + ["normal"] * 2
NAMES = ["unext", "cmunext_s", "unet", "attention_unet", "unet_plus_plus", "unet3plus", "transunet", "swin_unet",
         "unet_resnet34", "linknet_resnet18", "cmunext_l", "cmunet"]  # registered models: display names of their own
# code a note may quote on purpose: settings (train.amp), file names, and the legend's keys
ALLOWED = re.compile(r"^([a-z0-9]+\.[a-z0-9_.]+|.*\.(csv|md|tex|json|pt|yaml))$")


@pytest.fixture(scope="module", params=[3, 12])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(f"models{request.param}")
    rng = np.random.default_rng(request.param)
    for i, name in enumerate(NAMES[:request.param]):  # real magnitudes: HD95 CIs of 2-3 digits, † on worse models
        dice = {f: np.clip(rng.normal(0.45 + 0.04 * i, 0.04, 10), 0, 1).round(4).tolist() for f in (1, 2)}
        dice[1][9] = 0.0
        write_run(root / "runs", "busi", name, dice, LABELS, groups=list(range(10)), hd95_of_a_miss=180.0,
                  settings=("data.dataset=busi", f"model.name={name}"))
    build_report(root / "runs", root / "report", qualitative=False)
    return root / "report"


def _tex(report: Path) -> list[Path]:
    return sorted(report.rglob("*.tex"))


def test_every_tex_has_both_widths_and_fits_them(report: Path, tmp_path: Path) -> None:
    written = _tex(report)
    names = {p.name for p in written}
    for name in ("subgroups", "detection", "calibration", "analysis_comparisons", "tables/busi_accuracy",
                 "tables/busi_cost", "tables/busi_false_alarms"):
        stem = name.split("/")[-1]
        assert f"{stem}.tex" in names and f"{stem}_wide.tex" in names, stem
    for tex in written:
        pages_ = ["two-column"] if tex.stem.endswith("_wide") else ["column", "two-column"]
        for page in pages_:
            log = compile_log(tex, tmp_path / "latex", page)
            assert overfull_boxes(log) == [], f"{tex.name} does not fit the {page} page"
            if page == "column":  # every one-column table laid out to fit, none scaled down (the last resort)
                assert "scaled from" not in log, f"{tex.name} fits the 3.5 in column only scaled down"
            if tex.name == "setup.tex":
                assert pages(log) == 1, f"setup.tex runs to {pages(log)} pages on the {page} page"


def test_the_check_catches_a_float_taller_than_the_page(tmp_path: Path) -> None:
    tall = tmp_path / "tall.tex"
    tall.write_text("\\begin{table}[t]\\begin{tabular}{l}\n" + "x \\\\\n" * 120 + "\\end{tabular}\\end{table}\n")
    assert any("Float too large" in line for line in overfull_boxes(compile_log(tall, tmp_path / "l", "column")))


def _markdown_columns(path: Path) -> dict[str, list[str]]:
    """Each Markdown table's cells by header (tables of one file with the same header joined)."""
    columns: dict[str, list[str]] = {}
    header: list[str] = []
    for line in path.read_text().splitlines():
        if not line.startswith("|"):
            header = []
            continue
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if not header:
            header = cells
        elif not set(line) <= set("|-"):
            for title, cell in zip(header, cells):
                columns.setdefault(title, []).append(cell)
    return columns


NUMBER = re.compile(r"-?\d+\.(\d+)")


def test_numbers_follow_one_rule_in_every_markdown_table(report: Path) -> None:
    for path in sorted(report.rglob("*.md")):
        if path.name == "setup.md":  # settings as configured (lr 0.001, wd 0.0001), not figures
            continue
        for title, cells in _markdown_columns(path).items():
            if title.startswith(("p", "P")) and ("Holm" in title or "value" in title) or (
                    path.stem.endswith("p_values") and title != "Model"):
                assert all(c in ("< 0.0001", "n/a", "–") or re.fullmatch(r"[01]\.\d{4}", c) for c in cells), (
                    path.name, title, cells)
                continue
            places = {len(m) for c in cells if "%" not in c for m in NUMBER.findall(c.split("[")[0])}
            assert len(places) <= 1, f"{path.name}, column {title}: {sorted(set(cells))[:6]}"
            if title in ("Units", "Lesion images", "Normal images", "n", "Models", "Passes"):
                assert all(re.fullmatch(r"\d+|–|n/a", c) for c in cells), (path.name, title, cells)


def test_bold_marks_every_row_that_prints_the_best_figure() -> None:
    table = pd.DataFrame({"sensitivity": [0.7531, 0.7529, 0.70], "dice_lesion_mean": [0.8374, 0.8371, 0.8]})
    assert best_rows(table, "sensitivity", places=3) == {0, 1}  # both print 75.3%
    assert best_rows(table, "dice_lesion", places=3) == {0, 1}  # both print 0.837
    assert best_rows(table, "dice_lesion") == {0}
    assert _shares(table, "sensitivity", ("**", "**")) == ["**75.3%**", "**75.3%**", "70.0%"]


def test_p_values_and_counts_print_one_way() -> None:
    frame = pd.DataFrame({"p_holm": [2.85e-14, 0.00109, 0.5], "models": [12.0, 3.0, 4.0], "rank_biserial": [0.19, 1, 0],
                          "hd95_mean": [3.14159, 10, 2.5]})
    shown = shown_frame(frame)
    assert shown["p_holm"].tolist() == ["< 0.0001", "0.0011", "0.5000"]
    assert shown["models"].tolist() == ["12", "3", "4"]
    assert shown["rank_biserial"].tolist() == ["0.190", "1.000", "0.000"]
    assert shown["hd95_mean"].tolist() == ["3.14", "10.00", "2.50"]


SNAKE = re.compile(r"(?<![\w.\\-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.-])")


def _paste_ready_text(report: Path) -> dict[str, str]:
    texts = {p.name: p.read_text() for p in report.rglob("*.md") if p.name != "setup.md"}
    texts.update({p.name: re.sub(r"\\(label|typeout)\{[^}]*\}", "", p.read_text()).replace("\\_", "_")
                  for p in report.rglob("*.tex")})
    page = re.sub(r"base64,[^\"]+", "", (report / "report.html").read_text())
    start = page.index("<h2>Setup</h2>")
    texts["report.html"] = page[:start] + page[page.index("<h2>", start + 5):]
    return texts


def test_no_snake_case_key_reaches_a_paste_ready_file(report: Path) -> None:
    for name, text in _paste_ready_text(report).items():
        text = re.sub(r"`[^`]*`", "", text)  # a command quoted as code (`busbench profile --model cmunext_s`)
        keys = sorted({t for t in SNAKE.findall(text) if not ALLOWED.match(t)})
        assert keys == [], f"{name}: {keys}"
        assert "busi-" not in text.replace("BUSI", "")


def test_the_processor_is_named_and_an_architecture_alone_is_not_recorded() -> None:
    assert processor_name().lower() not in ARCHITECTURES  # /proc/cpuinfo's model name, not "x86_64"
    assert _processor("x86_64") == "not recorded (x86_64)" and _processor(None) == "not recorded"
    assert _processor("AMD EPYC 7763 64-Core Processor") == "AMD EPYC 7763 64-Core Processor"
