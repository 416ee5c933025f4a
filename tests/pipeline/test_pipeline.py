"""`busbench run` end to end on a tiny synthetic dataset: files, resume, skipping, isolation of the test set."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from busbench import pipeline
from busbench.config import ExperimentConfig, GridConfig, load_config
from busbench.data.manifest import Manifest
from busbench.data.torch_dataset import CachedSegmentationDataset
from busbench.errors import BusbenchError
from busbench.pipeline import ensemble
from busbench.pipeline import folds as fold_steps
from busbench.pipeline import run as pipeline_run
from busbench.report.collect import load_run, tables_by_test_set
from busbench.report.page.setup_section import model_setup
from busbench.train.callbacks import EpochRecord

FOLD_FILES = ("last.pt", "best.pt", "log.csv", "test_metrics.csv", "done.json")
CELL_FILES = ("config.yaml", "environment.json", "postprocessing.json", "postprocessing_trials.csv",
              "ensemble_metrics.csv", "per_image_metrics.csv", "fold_summary.csv", "summary.csv", "summary.md")


class Interrupted(Exception):
    pass


def tiny(tmp_path: Path, *extra: str) -> ExperimentConfig:
    return load_config(None, [
        "name=tiny", f"output_dir={tmp_path}", "data.dataset=synthetic", "data.options.count=30",
        "data.options.size=40", "data.options.seed=1", "split.folds=2", "input.size=32",
        "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8", *extra,
    ])


def _cell_dir(cfg: ExperimentConfig) -> Path:
    return cfg.output_dir / cfg.name / cfg.data.key() / cfg.model.key()


def test_run_writes_every_file_and_reruns_skip_finished_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny(tmp_path)
    summary = pipeline.run_experiment(cfg)
    cell = _cell_dir(cfg)
    for fold in (1, 2):
        for name in FOLD_FILES:
            assert (cell / f"fold-{fold}" / name).is_file(), name
    for name in CELL_FILES:
        assert (cell / name).is_file(), name
    data = pipeline.prepare_data(cfg)
    manifest = data.manifest
    test_ids = data.test_ids()
    ensemble = pd.read_csv(cell / "ensemble_metrics.csv", dtype={"case_id": str})
    assert ensemble.groupby("variant")["case_id"].apply(set).to_dict() == {
        "ensemble": set(test_ids), "ensemble + post-processing": set(test_ids)}
    assert summary["variant"].tolist() == ["fold models", "ensemble", "ensemble + post-processing"]
    assert summary.loc[1, "dice_mean"] == pytest.approx(ensemble.loc[ensemble["variant"] == "ensemble", "dice"].mean())
    chosen = json.loads((cell / "postprocessing.json").read_text())
    assert chosen["chosen_on"] == "out-of-fold development predictions" and "fill_holes" in chosen["postprocessing"]
    per_image = pd.read_csv(cell / "per_image_metrics.csv", dtype={"case_id": str})
    assert len(per_image) == 2 * len(test_ids)
    assert set(per_image["case_id"]) == set(test_ids)
    assert {"dice", "iou", "precision", "recall", "specificity", "accuracy", "hd95", "empty_case"} <= set(per_image)
    folds = pd.read_csv(cell / "fold_summary.csv")
    assert folds["fold"].tolist() == [1, 2]
    assert folds["dice"].tolist() == pytest.approx(per_image.groupby("fold")["dice"].mean().tolist())
    assert summary.loc[0, "dice_mean"] == pytest.approx(folds["dice"].mean())
    assert summary.loc[0, "dice_std"] == pytest.approx(folds["dice"].std(ddof=1))
    markdown = (cell / "summary.md").read_text()
    assert "Dice" in markdown and "missed lesions" in markdown and "both empty -> Dice 1" in markdown
    assert f"{cfg.model.key()} = unet with base_channels=4" in markdown
    assert f"{cfg.data.key()} = synthetic at (generated), options {{'count': 30" in markdown
    assert (tmp_path / "tiny" / "summary.md").is_file()
    env = json.loads((cell / "environment.json").read_text())
    assert env["manifest_sha256"] == manifest.sha256 and env["libraries"]["torch"] == metadata.version("torch")
    assert "git_commit" in env and env["test_set_sha256"]
    done = json.loads((cell / "fold-1" / "done.json").read_text())
    assert done["test_images"] == len(test_ids)
    assert {k: done["environment"][k] for k in ("device", "torch", "git_commit", "processor")} == {
        "device": "cpu", "torch": torch.__version__, "git_commit": env["git_commit"], "processor": env["processor"]}
    assert done["environment"]["precision"] == env["precision"]

    def must_not_train(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished fold was trained again")

    monkeypatch.setattr(fold_steps, "train_fold", must_not_train)
    later = pipeline_run.environment(torch.device("cpu")) | {"git_commit": "f" * 40}
    monkeypatch.setattr(pipeline_run, "environment", lambda device=None: later)  # a later commit finishes the cell
    with caplog.at_level(logging.WARNING, logger="busbench"):
        again = pipeline.run_experiment(cfg)
    assert again.loc[0, "dice_mean"] == summary.loc[0, "dice_mean"]
    assert json.loads((cell / "environment.json").read_text()) == env  # what the cell was started with
    said = [r.getMessage() for r in caplog.records if "was started with another" in r.getMessage()]
    assert len(said) == 1 and f"git_commit {env['git_commit']} -> {'f' * 40}" in said[0]


def test_a_run_records_and_prints_the_precision_it_computed_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture,
                                                              cpu_bf16: Callable[[bool], None]) -> None:
    """bf16 asked for on a CPU without native bf16: every step computes in fp32 and one warning says why."""
    cpu_bf16(False)
    cfg = tiny(tmp_path, "train.epochs=1", "train.amp=bf16")
    enabled: list[bool] = []
    real = torch.autocast

    def recording(device_type: str, **kwargs: Any) -> torch.autocast:
        enabled.append(kwargs.get("enabled", True))
        return real(device_type, **kwargs)

    monkeypatch.setattr(torch, "autocast", recording)
    with caplog.at_level(logging.INFO, logger="busbench"):
        pipeline.run_experiment(cfg)
    assert enabled and not any(enabled)  # training, validation, scoring and the ensemble
    cell = _cell_dir(cfg)
    env = json.loads((cell / "environment.json").read_text())
    assert env["precision"] == "fp32" and env["precision_reason"].startswith("train.amp=bf16 ignored: the CPU (")
    assert json.loads((cell / "fold-1" / "done.json").read_text())["environment"]["precision"] == "fp32"
    warnings = [r.getMessage() for r in caplog.records if "precision" in r.getMessage() or "ignored" in r.getMessage()]
    assert warnings == [f"warning: {env['precision_reason']}"]
    run = load_run(cell)
    assert not isinstance(run, str), run
    assert model_setup(tables_by_test_set([run])).loc[0, "Precision"] == "fp32 (train.amp=bf16)"  # the report


def test_interrupted_run_resumes(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)

    def interrupt(record: EpochRecord) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        pipeline.run_cell(cfg, callbacks=[interrupt])
    cell = _cell_dir(cfg)
    assert (cell / "fold-1" / "last.pt").is_file() and not (cell / "fold-1" / "done.json").exists()
    assert pipeline.run_cell(cfg)
    log = pd.read_csv(cell / "fold-1" / "log.csv")
    assert log["epoch"].tolist() == [1, 2]


def test_test_cases_never_reach_the_training_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[str] = []
    original = CachedSegmentationDataset.__getitem__

    def recording(self: CachedSegmentationDataset, i: int) -> dict[str, object]:
        item = original(self, i)
        served.append(str(item["case_id"]))
        return item

    monkeypatch.setattr(CachedSegmentationDataset, "__getitem__", recording)
    # no loader workers: items must load in this process for ``served`` to see them (CUDA's auto gives workers)
    cfg = tiny(tmp_path, "train.epochs=1", "train.workers=0")
    pipeline.run_experiment(cfg)
    data = pipeline.prepare_data(cfg)
    test_ids = set(data.test_ids())
    assert served and test_ids and not set(served) & test_ids


def test_changed_settings_need_a_new_run_name(tmp_path: Path) -> None:
    pipeline.run_cell(tiny(tmp_path, "train.epochs=1"), folds=[1])
    with pytest.raises(BusbenchError, match=r"made with other settings \(optimizer.lr\)"):
        pipeline.run_cell(tiny(tmp_path, "train.epochs=1", "optimizer.lr=0.1"), folds=[1])
    assert pipeline.run_cell(tiny(tmp_path, "train.epochs=1", "train.workers=0", "train.threads=1"), folds=[1]) == []
    with pytest.raises(BusbenchError, match="folds 1..2"):
        pipeline.run_cell(tiny(tmp_path, "train.epochs=1"), folds=[3])
    with pytest.raises(BusbenchError, match=r"made with other settings \(split.seed\)"):
        pipeline.run_cell(tiny(tmp_path, "train.epochs=1", "split.seed=9"), folds=[1])


def test_grid_runs_every_cell(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, "train.epochs=1")
    models = [{"name": "unet", "kwargs": {"base_channels": 4}}, {"name": "unet", "kwargs": {"base_channels": 2}}]
    grid = cfg.model_copy(update={"grid": GridConfig.model_validate({"models": models})})
    summary = pipeline.run_experiment(grid)
    assert len(summary) == 2 * 3 and summary["model"].nunique() == 2  # fold models, ensemble, + post-processing
    combined = pd.read_csv(tmp_path / "tiny" / "summary.csv")
    assert len(combined) == 6


def test_two_runs_of_one_name_keep_every_finished_cells_rows(tmp_path: Path) -> None:
    """Issue 24: a second run of the same name with another model left only its own rows in summary.csv."""
    first = tiny(tmp_path, "train.epochs=1")
    second = tiny(tmp_path, "train.epochs=1", "model.kwargs.base_channels=2")
    pipeline.run_experiment(first)
    own = pd.read_csv(_cell_dir(first) / "summary.csv")
    pipeline.run_experiment(second)
    combined = pd.read_csv(tmp_path / "tiny" / "summary.csv")
    assert combined["model"].tolist() == [second.model.key()] * 3 + [first.model.key()] * 3  # this run's cells first
    pd.testing.assert_frame_equal(combined.iloc[3:].reset_index(drop=True), own)
    markdown = (tmp_path / "tiny" / "summary.md").read_text()
    assert markdown.count(f"| {first.model.key()} |") == markdown.count(f"| {second.model.key()} |") == 3
    shutil.rmtree(_cell_dir(first) / "fold-2")  # to be trained again: its old rows no longer stand
    pipeline.run_experiment(second)
    assert pd.read_csv(tmp_path / "tiny" / "summary.csv")["model"].tolist() == [second.model.key()] * 3


def test_postprocessing_selection_never_reads_test_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny(tmp_path, "train.epochs=1")
    pipeline.run_experiment(cfg)
    data = pipeline.prepare_data(cfg)
    models = pipeline.load_fold_models(cfg, data, _cell_dir(cfg), torch.device("cpu"))
    predicted: list[str] = []
    truths_read: list[str] = []
    original_predict, original_lesion = ensemble.original_size_probabilities, Manifest.lesion

    def recording_predict(models_, cache, case_ids, *args, **kwargs):
        predicted.extend(case_ids)
        return original_predict(models_, cache, case_ids, *args, **kwargs)

    def recording_lesion(self: Manifest, row: pd.Series):
        truths_read.append(str(row["case_id"]))
        return original_lesion(self, row)

    monkeypatch.setattr(ensemble, "original_size_probabilities", recording_predict)
    monkeypatch.setattr(Manifest, "lesion", recording_lesion)
    pipeline.choose_cell_postprocessing(cfg, data, models, torch.device("cpu"), None)
    test_ids = set(data.test_ids())
    development = set(data.manifest.frame["case_id"]) - test_ids
    assert sorted(predicted) == sorted(truths_read) == sorted(development)


def test_cross_dataset_scores_each_fold_model_on_the_other_test_set(tmp_path: Path) -> None:
    other = "{dataset: synthetic, options: {count: 24, size: 40, seed: 7}}"
    cfg = tiny(tmp_path, "train.epochs=1", f"eval.cross_datasets=[{other}]")
    pipeline.run_experiment(cfg)
    cross = pd.read_csv(_cell_dir(cfg) / "cross_dataset_metrics.csv", dtype={"case_id": str})
    other_key = cfg.eval.cross_datasets[0].key()
    target = pipeline.prepare_data(cfg.model_copy(update={"data": cfg.eval.cross_datasets[0]}))
    test_ids = set(target.test_ids())
    assert set(cross["test_dataset"]) == {other_key} and sorted(cross["fold"].unique()) == [1, 2]
    assert cross.groupby("fold")["case_id"].apply(set).tolist() == [test_ids, test_ids]


def test_a_cut_fold_table_is_named_by_report_where_the_runs_data_folder_is_gone(tmp_path: Path) -> None:
    """A results folder copied without its data folder has no split to check the tables against: fold 1's ids are
    counted against the number its done.json recorded, so the cut table is named, not the intact fold after it."""
    cfg = tiny(tmp_path, "train.epochs=1")
    pipeline.run_experiment(cfg)
    cell = _cell_dir(cfg)
    shutil.move(tmp_path / "data", tmp_path / "elsewhere")
    table = cell / "fold-1" / "test_metrics.csv"
    table.write_text("\n".join(table.read_text().splitlines()[:3]) + "\n")
    with pytest.raises(BusbenchError, match=rf"^{table}: 2 test ids where {cell}/fold-1/done.json records \d+; the "
                                            r"file was cut or edited. Delete it and run `busbench run`"):
        load_run(cell)


def test_rgb_input_runs_end_to_end(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, "train.epochs=1", "input.channels=3", "eval.tta=[hflip]")
    summary = pipeline.run_experiment(cfg)
    assert len(summary) == 3 and summary["dice_mean"].between(0, 1).all()
    cache_dirs = list((tmp_path / "data").glob("synthetic-*/cache/*-c3-*"))
    assert len(cache_dirs) == 1


def test_results_tables_cut_or_edited_are_refused_by_run_and_report(tmp_path: Path) -> None:
    """The issue's cases: an ensemble table cut to 2 rows, a fold table cut to 3, a cross-dataset row lost."""
    from busbench.report.collect import collect_runs

    other = "{dataset: synthetic, options: {count: 24, size: 40, seed: 7}}"
    cfg = tiny(tmp_path, "train.epochs=1", f"eval.cross_datasets=[{other}]")
    pipeline.run_experiment(cfg)
    cell = _cell_dir(cfg)
    n_test = len(pipeline.prepare_data(cfg).test_ids())
    for name, keep, message in (
            ("ensemble_metrics.csv", 2, rf"ensemble_metrics.csv \(variant ensemble.*\): does not hold the {n_test} "
                                        r"test ids of the split once each: \d missing.*to score the ensemble again"),
            ("fold-1/test_metrics.csv", 3, rf"test_metrics.csv \(fold 1\): does not hold the {n_test} test ids of the "
                                           rf"split once each: {n_test - 3} missing.*Delete {cell}/fold-1/"
                                           r"test_metrics.csv and run the same command again: fold 1 is scored again"),
            ("cross_dataset_metrics.csv", -1, r"cross_dataset_metrics.csv \(test_dataset .*, fold 2\): .*1 missing")):
        table = cell / name
        original = table.read_text()
        lines = original.splitlines()
        table.write_text("\n".join(lines[:keep + 1] if keep > 0 else lines[:keep]) + "\n")
        with pytest.raises(BusbenchError, match=message):
            pipeline.run_experiment(cfg)
        with pytest.raises(BusbenchError, match=rf"{name.split('/')[-1]}.*(missing|test ids where)"):
            collect_runs(tmp_path)
        table.write_text(original)
    fold = cell / "fold-2" / "test_metrics.csv"
    lines = fold.read_text().splitlines()
    fold.write_text("\n".join([*lines, lines[-1]]) + "\n")  # a row pasted twice
    with pytest.raises(BusbenchError, match=r"fold-2/test_metrics.csv \(fold 2\): .*1 listed twice"):
        pipeline.run_experiment(cfg)


def test_a_table_cut_in_the_middle_of_a_row_is_named_and_the_advice_works(tmp_path: Path) -> None:
    """Issue 24: `report` raised pandas' TypeError, `run` spoke of rows of 2 splits and, once the file was deleted
    as it said, raised FileNotFoundError."""
    from busbench.report.collect import collect_runs

    cfg = tiny(tmp_path, "train.epochs=1")
    pipeline.run_experiment(cfg)
    table = _cell_dir(cfg) / "fold-2" / "test_metrics.csv"
    original = table.read_text()
    table.write_text(original[: len(original) - 40])  # cut inside the last row
    cut = rf"{table}: ends in the middle of a row; the file was cut \(an interrupted copy or a full disk\) or edited"
    with pytest.raises(BusbenchError, match=cut + r". Delete it and run `busbench run` with the run's config again"):
        collect_runs(tmp_path)
    with pytest.raises(BusbenchError, match=cut + rf". Delete {table} and run the same command again: fold 2 is scored "
                                                  r"again from its best.pt without retraining"):
        pipeline.run_experiment(cfg)
    table.unlink()  # as told
    trained = (table.parent / "best.pt").stat().st_mtime_ns
    assert len(pipeline.run_experiment(cfg)) == 3
    assert table.read_text() == original and (table.parent / "best.pt").stat().st_mtime_ns == trained
    assert collect_runs(tmp_path)[0]
