"""`busbench report` (a minute and more on a grid) prints progress into a redirected stdout: the
table rows with their bootstrap CIs, each figure, and the analyses."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_file import console_file
from fake_results import write_run

from busbench.report.build import build_report

LABELS = ["normal", "benign", "malignant", "benign", "benign", "malignant"]


def test_the_report_prints_progress_lines_into_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for model, shift in (("model_a", 0.0), ("model_b", 0.1)):
        write_run(tmp_path / "results", "busi", model, {k: [0.5 + shift] * 6 for k in (1, 2)}, LABELS)
    with console_file(tmp_path / "stdout.txt", monkeypatch) as out:
        build_report(tmp_path / "results", tmp_path / "report", qualitative=False)
    text = out.read_text()
    assert text.splitlines()[0].endswith(f"report: reading the runs under {tmp_path / 'results'}, each checked "
                                         "against its split and data")  # before the first run is read
    assert "report: 2 run(s) on 1 test set(s) from " in text
    assert "report: rows and bootstrap CIs: 2/2 (100 %)" in text
    # forest plot, box plot, Dice against cost, and each run's training curves
    figures = [line for line in text.splitlines() if "report: figures of " in line]
    assert len(figures) == 5 and figures[-1].split(": ")[-1].startswith("5/5 (100 %)")
    assert "report: analyses of the test sets (subgroups, detection, morphology, calibration)" in text
    assert "report: analyses of the test sets: 1/1 (100 %)" in text
    assert "report: test sets: 1/1 (100 %)" in text
