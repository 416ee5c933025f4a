"""A report written over an earlier one in the same folder leaves none of the earlier report's
files behind, and never removes a file the user put there."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from fake_results import write_run

from busbench.report.build import build_report
from busbench.report.report_files import REPORT_FILES

LABELS = ["benign"] * 8 + ["normal"] * 2
DICE = {1: [0.8] * 8 + [1.0, 0.0], 2: [0.7] * 8 + [1.0, 1.0]}


def _results(root: Path) -> Path:
    for model in ("model_a", "model_b"):
        write_run(root, "busi", model, DICE, LABELS)
    return root


def test_a_second_report_removes_the_first_reports_files_only(tmp_path: Path) -> None:
    root = _results(tmp_path / "runs")
    out = tmp_path / "report"
    build_report(root, out, qualitative=False)
    first = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    listed = set((out / REPORT_FILES).read_text().split())
    assert listed == first - {REPORT_FILES} and "report.html" in listed
    (out / "my_notes.txt").write_text("mine")
    (out / "plots" / "my_figure.png").write_bytes(b"mine")
    shutil.rmtree(next(root.glob("exp/*/model_b")))  # model_b is no longer reported
    build_report(root, out, qualitative=False)
    second = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    # model_b's training curves, and the paired tests that need two models: before, they stayed and
    # still compared model_a with the removed model
    assert first - second == {"plots/busi_model_b_training.pdf", "plots/busi_model_b_training.png",
                              "analysis_comparisons.csv", "analysis_comparisons.md", "analysis_comparisons.tex",
                              "analysis_comparisons_wide.tex", "subgroup_comparisons.csv", "subgroup_comparisons.md"}
    assert {"my_notes.txt", "plots/my_figure.png"} <= second
    assert not {"my_notes.txt", "plots/my_figure.png"} & set((out / REPORT_FILES).read_text().split())


def test_a_report_folder_of_an_older_busbench_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _results(tmp_path / "runs")
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("<html>an older report</html>")
    with caplog.at_level(logging.WARNING, logger="busbench"):
        build_report(root, out, qualitative=False)
    assert f"{out} holds a report without {REPORT_FILES}" in caplog.text
