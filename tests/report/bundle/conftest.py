"""Finished tiny runs to bundle: two models on one split, one on another split seed, one on a split
made from a registry (itself made from the first split), all in one results folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_files import BundleRuns

from busbench import pipeline
from busbench.config import load_config
from busbench.data.manifest import load_manifest
from busbench.data.registry.build import build_registry
from busbench.data.registry.record import registry_bytes
from busbench.data.split.record import load_split

TINY = ["data.options.count=40", "data.options.size=40", "split.folds=2", "input.size=32", "train.epochs=1",
        "eval.tta=[hflip]"]


def _run(out: Path, name: str, *settings: str) -> Path:
    registry = any(s.startswith("split.registry=") for s in settings)  # the registry's folds, not split.folds
    tiny = [s for s in TINY if not (registry and s.startswith("split.folds="))]
    cfg = load_config(None, [f"name={name}", f"output_dir={out}", *tiny, *settings])
    pipeline.run_experiment(cfg)
    return out / name / cfg.data.key() / cfg.model.key()


@pytest.fixture(scope="session")
def bundle_runs(tmp_path_factory: pytest.TempPathFactory) -> BundleRuns:
    out = tmp_path_factory.mktemp("bundle-runs")
    cell = _run(out, "a", "model.kwargs.base_channels=4")
    _run(out, "b", "model.kwargs.base_channels=8")
    _run(out, "c", "model.kwargs.base_channels=4", "split.seed=7")
    data = out / "data" / cell.parent.name
    split_file = json.loads((cell / "environment.json").read_text())["split_file"]
    registry = build_registry(load_manifest(data), load_split(data / split_file), "tiny-v1", "test")
    registry_file = out / "tiny-v1.json"
    registry_file.write_bytes(registry_bytes(registry))
    _run(out, "r", "model.kwargs.base_channels=4", f"split.registry={registry_file}")
    return BundleRuns(out, registry_file)

