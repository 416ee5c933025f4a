"""The planted dataset, prepared, split and audited once for the audit tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import make_planted

from busbench.audit.build import run_audit
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.split_file import SplitSettings, plan_split, write_split


@pytest.fixture(scope="session")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("planted")
    planted = make_planted(base / "raw")
    prepare_dataset("folder", base / "raw", base / "data", {"labels_csv": "labels.csv"})
    manifest = load_manifest(base / "data")
    write_split(plan_split(manifest, SplitSettings(test_size=0.2, folds=2, seed=0)), base / "data" / "split.json")
    run_audit(base / "data")
    return base / "data" / "audit", planted
