"""A run on a dataset prepared elsewhere (``data.prepared``, as the README's quick start does, given
as a path relative to where `run` was started) is reported and bundled from its data folder: the
report's setup counts its development images and `bundle` names its test cases by content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from busbench import pipeline
from busbench.config import load_config
from busbench.data.prepare import prepare_dataset
from busbench.layout.folders import CellFolder
from busbench.report.build import build_report
from busbench.report.collect import run_data_folder


def test_report_and_bundle_find_a_data_folder_outside_the_results(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    prepare_dataset("synthetic", work / "raw", work / "prepared", {"count": 24, "size": 40})
    monkeypatch.chdir(work)
    cfg = load_config(None, ["name=q", f"output_dir={tmp_path / 'runs'}", "data.prepared=prepared", "split.folds=2",
                             "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1",
                             "eval.postprocess=false"])
    pipeline.run_experiment(cfg)
    monkeypatch.chdir(tmp_path)  # elsewhere: the relative data.prepared no longer resolves
    cell = next((tmp_path / "runs" / "q").glob("*/*"))
    assert run_data_folder(CellFolder(cell)) == (work / "prepared").resolve()
    build_report(tmp_path / "runs" / "q", tmp_path / "report", qualitative=False)
    setup = (tmp_path / "report" / "setup.md").read_text()
    assert "data folder not in results" not in setup
    assert run_cli(monkeypatch, "bundle", str(tmp_path / "runs" / "q"), "--out", str(tmp_path / "q.json")) == 0
    bundle = json.loads((tmp_path / "q.json").read_text())
    assert bundle["format"] == "busbench-bundle/1"
