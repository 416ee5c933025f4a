"""Dataset folders in configs: ${BUSBENCH_DATA}, folders relative to the YAML file, and their errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import run_cli
from real_data import REAL_DATA, real_dataset

from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.pipeline.dataset_folder import dataset_folder

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "busbench" / "configs"
TINY = ["split.registry=null", "split.folds=2", "input.size=32", "train.epochs=1", "schedule.warmup_epochs=0",
        "model.kwargs.base_channels=4"]


def test_tests_and_shipped_configs_read_the_same_data_folder() -> None:
    assert os.environ["BUSBENCH_DATA"] == str(REAL_DATA)
    assert load_config(SHIPPED / "busi.yaml").data.root == REAL_DATA / "Dataset_BUSI_with_GT"


def test_shipped_configs_name_their_data_through_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUSBENCH_DATA", str(tmp_path))
    assert load_config(SHIPPED / "busi.yaml").data.root == tmp_path / "Dataset_BUSI_with_GT"
    grid = load_config(SHIPPED / "grid.yaml").grid
    assert grid is not None and [d.root for d in grid.datasets][:2] == [tmp_path / "Dataset_BUSI_with_GT",
                                                                       tmp_path / "BUSBRA"]


def test_an_unset_variable_is_one_line_naming_it_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUSBENCH_DATA")
    with pytest.raises(BusbenchError) as error:
        load_config(SHIPPED / "busi.yaml")
    message = str(error.value)
    assert "\n" not in message
    assert "data.root: ${BUSBENCH_DATA}/Dataset_BUSI_with_GT" in message
    assert "BUSBENCH_DATA, which is not set" in message
    assert "export BUSBENCH_DATA=DIR, the folder that holds Dataset_BUSI_with_GT/" in message
    # an override replaces the YAML's value, so the variable is not needed
    assert load_config(SHIPPED / "busi.yaml", ["data.root=/elsewhere/busi"]).data.root == Path("/elsewhere/busi")


def test_relative_roots_in_a_yaml_are_taken_from_its_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "mine.yaml").write_text(
        "data: {dataset: busi, root: ../data/busi}\n"
        "eval: {cross_datasets: [{dataset: busbra, root: bra}]}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(tmp_path / "configs" / "mine.yaml")
    assert cfg.data.root == tmp_path / "data" / "busi"
    assert cfg.eval.cross_datasets[0].root == tmp_path / "configs" / "bra"
    # a --set value is the user's typing in the working directory: left relative to it
    assert load_config(tmp_path / "configs" / "mine.yaml", ["data.root=here"]).data.root == Path("here")


def test_a_missing_root_names_the_variable_the_resolved_path_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("data: {dataset: busi, root: not_there}\n")
    cfg = load_config(tmp_path / "mine.yaml", [f"output_dir={tmp_path / 'runs'}"])
    with pytest.raises(BusbenchError) as error:
        dataset_folder(cfg)
    message = str(error.value)
    assert "\n" not in message
    assert f"data.root {tmp_path / 'not_there'}: no such folder (BUSBENCH_DATA={REAL_DATA};" in message
    assert "relative folder in a YAML file is taken from the file's folder" in message
    assert "set BUSBENCH_DATA to the folder holding not_there/, or --set data.root=PATH" in message


def test_jobs_prepare_busi_from_a_directory_outside_the_repository(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """`busbench jobs busi` prepares (manifest, split, cache) without training, from any working directory."""
    real_dataset("Dataset_BUSI_with_GT")
    monkeypatch.chdir(tmp_path)
    code = run_cli(monkeypatch, "--quiet", "jobs", "busi", *[arg for o in TINY for arg in ("--set", o)])
    assert code == 0
    manifests = list((tmp_path / "runs" / "data").glob("busi-*/manifest.csv"))
    assert len(manifests) == 1 and len(list(manifests[0].parent.glob("split-*.json"))) == 1
    assert list(manifests[0].parent.glob("cache/busi-32px-letterbox-c1-*/images.npy"))
