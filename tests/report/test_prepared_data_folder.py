"""A run on a dataset prepared elsewhere (``data.prepared``, as the README's quick start does, given
as a path relative to where `run` was started) is reported and bundled from its data folder: the
report's setup counts its development images and `bundle` names its test cases by content."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_runner import run_cli

from busbench import pipeline
from busbench.config import load_config
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.run_data import run_data_folder
from busbench.layout.folders import CellFolder
from busbench.report.build import build_report


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


def test_an_outside_method_scored_on_that_folder_joins_the_runs_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The README's flow with `export test` and `score`: the method's cell gets the dataset key the trained run got
    from data.prepared, so one table holds both (it had a table of its own, keyed by the folder's name)."""
    prepared = tmp_path / "work" / "prepared"
    prepare_dataset("synthetic", tmp_path / "work" / "raw", prepared, {"count": 24, "size": 40})
    cfg = load_config(None, ["name=q", f"output_dir={tmp_path / 'runs'}", f"data.prepared={prepared}",
                             "split.folds=2", "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1",
                             "eval.postprocess=false"])
    pipeline.run_experiment(cfg)
    capsys.readouterr()
    assert run_cli(monkeypatch, "export", "test", str(prepared), "--out", str(tmp_path / "images")) == 0
    said = " ".join(capsys.readouterr().out.split())
    split_name = next(prepared.glob("split-*.json")).name
    assert f"`busbench score {prepared} --split {split_name} --predictions DIR --name METHOD --out OUTPUT_DIR`" in said
    masks = tmp_path / "masks"  # a perfect method: the truth, as predictions
    masks.mkdir()
    manifest = load_manifest(prepared)
    for _, row in manifest.frame.iterrows():
        if (tmp_path / "images" / f"{row['case_id']}.png").is_file():
            cv2.imwrite(str(masks / f"{row['case_id']}.png"), manifest.lesion(row).astype(np.uint8) * 255)
    assert run_cli(monkeypatch, "score", str(prepared), "--split", split_name, "--predictions", str(masks),
                   "--name", "truth", "--out", str(tmp_path / "runs")) == 0
    report = build_report(tmp_path / "runs", tmp_path / "report", qualitative=False)
    [table] = report.tables.values()
    assert set(table["model"]) == {"U-Net (width 4)", "truth"}
