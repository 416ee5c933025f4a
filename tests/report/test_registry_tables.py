"""A run whose split came from a registry: `run` trains the registry's folds, not split.folds' default (a
split.folds set beside a registry is refused: tests/config/test_config.py), and every table names the registry
and how many cases of the copy it lacked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from cli_runner import run_cli

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.data.manifest import load_manifest
from busbench.data.registry.build import build_registry
from busbench.data.registry.record import registry_bytes
from busbench.data.split.split_file import SplitSettings, plan_split
from busbench.errors import BusbenchError
from busbench.evaluate.predict import load_run
from busbench.pipeline.prepared import prepare_data
from busbench.records import read_done
from busbench.report.build import build_report


def _registry_config(tmp_path: Path) -> ExperimentConfig:
    """A 2-fold registry of 20 synthetic cases, and a config for a copy of 24 cases split by it."""
    base = ["name=r", f"output_dir={tmp_path / 'runs'}", "data.options.count=24", "data.options.size=40",
            "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "eval.postprocess=false"]
    first = load_config(None, [*base, "data.options.count=20"])
    data_dir = prepare_data(first).manifest.path.parent
    manifest = load_manifest(data_dir)  # 20 synthetic cases: the "published" copy
    split = plan_split(manifest, SplitSettings(test_size=0.25, folds=2, seed=1))
    registry_file = tmp_path / "toy-v1.json"
    registry_file.write_bytes(registry_bytes(build_registry(manifest, split, "toy-v1", "20 cases")))
    # the user's copy holds 24 cases (the generator's first 20 are the same): 4 outside the registry
    return load_config(None, [*base, f"split.registry={registry_file}", "split.registry_mismatch=true"])


def test_tables_and_bundles_name_the_registry_and_the_cases_outside_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _registry_config(tmp_path)
    pipeline.run_experiment(cfg)
    cell = tmp_path / "runs" / "r" / cfg.data.key() / cfg.model.key()
    assert sorted(p.name for p in cell.glob("fold-*") if p.is_dir()) == ["fold-1", "fold-2"]  # the registry's 2, not 5
    build_report(tmp_path / "runs" / "r", tmp_path / "report", qualitative=False)
    accuracy = next((tmp_path / "report" / "tables").glob("*_accuracy.md")).read_text()
    assert "registry toy-v1" in accuracy and "4 cases outside it (development only)" in accuracy
    setup = (tmp_path / "report" / "setup.md").read_text()
    assert "registry toy-v1" in setup and "2-fold cross-validation" in setup
    split_file = json.loads(next(cell.parent.parent.parent.glob("data/*/split-registry-toy-v1-*.json")).read_text())
    assert split_file["registry"]["extra_cases"] == ["syn_00020", "syn_00021", "syn_00022", "syn_00023"]
    assert run_cli(monkeypatch, "bundle", str(tmp_path / "runs" / "r"), "--out", str(tmp_path / "r.json")) == 0
    notes = json.loads((tmp_path / "r.json").read_text())["cells"][0]["notes"]
    assert [n for n in notes if "mismatch" in n] == [
        f"split with --allow-mismatch from registry toy-v1 (test set {split_file['registry']['test_set_sha256'][:8]}), "
        "4 cases outside it (development only)"]


def test_setup_counts_the_folds_of_the_split_and_those_trained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A time-budgeted table (benchmarks/gpu_table.sh) trains fold 1 of the registry's 2: the split stays 2-fold,
    and the model's row says how many of its fold models were trained."""
    cfg = _registry_config(tmp_path)
    pipeline.run_experiment(cfg, folds=[1])
    fold = tmp_path / "runs" / "r" / cfg.data.key() / cfg.model.key() / "fold-1"
    assert read_done(fold, "").stop_reason == "epochs"  # train.epochs=1 ended it
    report = build_report(tmp_path / "runs" / "r", tmp_path / "report", qualitative=False)
    assert "2-fold cross-validation" in report.setup["Datasets and splits"].iloc[0]["Split"]
    assert report.setup["Models and training"].iloc[0]["Fold models"] == "1 of 2"
    accuracy = next((tmp_path / "report" / "tables").glob("*_accuracy.md")).read_text()
    assert "‡ 1 of 2 folds trained: the fold-model rows and the ensemble are of that fold only." in accuracy
    assert re.search(r"\| U-Net \(width 4\) [^|]*‡ \| fold models \|", accuracy)  # the row marked
    with pytest.raises(BusbenchError, match=r"unfinished run \(fold-2 unfinished\)"):  # the registry's 2 folds
        load_run(fold.parent, torch.device("cpu"))
    capsys.readouterr()
    assert run_cli(monkeypatch, "bundle", str(tmp_path / "runs" / "r"), "--out", str(tmp_path / "r.json")) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert f"bundle: {cfg.data.key()}/{cfg.model.key()} has 1 of its split's 2 folds trained: a leaderboard marks " \
           "it ‡" in said
