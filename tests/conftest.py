"""Shared fixtures: the real datasets beside the checkout, and small generated datasets."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from real_data import REAL_DATA, real_dataset

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.train import device

os.environ["BUSBENCH_DATA"] = str(REAL_DATA)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one pytest worker per core (pytest-xdist): each, and every process it starts, computes
    # on one thread, so workers do not oversubscribe the cores (tiny test models gain nothing from more)
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


REAL_DATA_FIXTURES = {"busi_manifest", "busbra_manifest"}


def reads_real_data(item: pytest.Item) -> bool:
    """Whether a test reads the real datasets: it or one of its fixtures (however deep) calls
    ``real_dataset``, or it uses the real manifests' fixtures."""
    if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    functions = [getattr(item, "function", None), *(d.func for defs in definitions.values() for d in defs)]
    return any(f is not None and "real_dataset(" in inspect.getsource(f) for f in functions)


# Modules whose tests took 3.5 s or more together (`pytest --durations=0` on 2 cores, summed per file):
# end-to-end runs, many models, exports, browsers and LaTeX. `make test-fast` leaves them out.
SLOW_MODULES = {
    "audit/test_audit_busi.py", "cli/test_cli.py", "cluster/test_slurm.py", "cli/test_progress_output.py",
    "cli/test_signals.py", "cli/test_score_cli.py", "config/test_paths.py", "data/test_cache.py", "models/test_init.py",
    "models/test_monai_nets.py", "report/tables/test_compute_columns.py", "test_api.py",
    "data/duplicates/test_duplicates_memory.py", "data/registry/test_registry_split_real.py",
    "data/duplicates/test_duplicates_mirrored.py", "report/test_registry_tables.py",
    "data/split/test_split.py", "data/split/test_split_renamed.py", "deploy/test_onnx_models.py",
    "deploy/test_onnx_bundle.py", "models/test_input_size.py", "models/test_nnunet_resenc.py", "models/test_plugins.py",
    "pipeline/test_pooled_training.py", "report/figures/test_figure_style.py",
    "models/test_profile.py", "models/test_registry.py", "models/test_transfer.py", "report/analyses/test_analyses.py",
    "report/analyses/test_analyses_end_to_end.py", "report/test_paste_ready.py", "report/tables/test_publication.py",
    "report/test_report.py",
    "report/test_report_files.py", "report/test_test_sets.py", "test_benchmark_anything.py", "test_faults.py",
    "test_parallel_jobs.py", "pipeline/test_pipeline.py", "test_presets.py", "test_provenance.py",
    "train/test_compile.py",
    "train/test_nnunet_preset.py", "report/bundle/test_make.py", "report/bundle/test_leaderboard.py",
    "report/test_seed_rows.py", "train/test_tracking.py", "evaluate/test_run_cost.py", "test_gpu_check.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that read real data ``real_data`` and those of ``SLOW_MODULES`` ``slow``, so
    `make test-fast` can leave them out."""
    tests = Path(__file__).parent
    for item in items:
        if reads_real_data(item):
            item.add_marker(pytest.mark.real_data)
        if item.path.relative_to(tests).as_posix() in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def _prepared(factory: pytest.TempPathFactory, adapter: str, folder: str) -> Manifest:
    root = real_dataset(folder)
    out = factory.mktemp(adapter)
    prepare_dataset(adapter, root, out)
    return load_manifest(out)


@pytest.fixture(scope="session")
def busi_manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return _prepared(tmp_path_factory, "busi", "Dataset_BUSI_with_GT")


@pytest.fixture(scope="session")
def busbra_manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return _prepared(tmp_path_factory, "busbra", "BUSBRA")


@pytest.fixture(scope="session")
def synthetic_manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """60 synthetic cases at 48 px: the small dataset most tests use."""
    base = tmp_path_factory.mktemp("synthetic")
    prepare_dataset("synthetic", base / "raw", base / "manifest", {"count": 60, "size": 48, "seed": 3,
                                                                   "near_duplicate_rate": 0.1})
    return load_manifest(base / "manifest")


@pytest.fixture
def cpu_bf16(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """``cpu_bf16(True)``: this CPU answers as one with native bf16 (AVX-512 BF16), ``cpu_bf16(False)``
    as one without (AVX2 only), whatever it is, so that a test of the precision means the same on
    every machine (GitHub's runners include AVX2-only AMD EPYCs)."""

    def fake(native: bool) -> None:
        monkeypatch.setattr(device, "cpu_bf16_features", lambda: ["avx512_bf16"] if native else [])

    return fake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cell folder of a finished 2-fold run (a 4-channel U-Net, one epoch on 24 synthetic images at
    32 px, hflip TTA): what `predict` and the Python API read. Shared: copy it before changing it."""
    from busbench import pipeline
    from busbench.config import load_config

    out = tmp_path_factory.mktemp("tiny-run")
    cfg = load_config(None, [
        "name=p", f"output_dir={out}", "data.options.count=24", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "eval.tta=[hflip]",
    ])
    pipeline.run_experiment(cfg)
    return out / "p" / cfg.data.key() / cfg.model.key()
