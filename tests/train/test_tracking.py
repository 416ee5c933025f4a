"""Experiment tracking: a tiny run's TensorBoard and MLflow records, read back with their own readers."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.layout.folders import MLFLOW_STORE, TENSORBOARD_DIR
from busbench.train.tracking import fold_trackers

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
mlflow_tracking = pytest.importorskip("mlflow.tracking")


def tiny(tmp_path: Path, *extra: str) -> ExperimentConfig:
    return load_config(None, [
        "name=tracked", f"output_dir={tmp_path}", "data.dataset=synthetic", "data.options.count=30",
        "data.options.size=40", "data.options.seed=1", "split.folds=2", "input.size=32",
        "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8", "eval.postprocess=false", *extra,
    ])


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExperimentConfig, Path]:
    """One tiny run with both trackers on (to the local MLflow store: MLFLOW_TRACKING_URI unset)."""
    tmp_path = tmp_path_factory.mktemp("tracked")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        cfg = tiny(tmp_path, "tracking.tensorboard=true", "tracking.mlflow=true")
        pipeline.run_experiment(cfg)
    return cfg, cfg.output_dir / cfg.name / pipeline.cell_id(cfg)


def test_tensorboard_events_read_back(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    _, cell = tracked_run
    for fold in (1, 2):
        events = event_accumulator.EventAccumulator(str(cell / f"fold-{fold}" / TENSORBOARD_DIR))
        events.Reload()
        tags = set(events.Tags()["scalars"])
        assert {"train/loss", "val/loss", "val/dice", "val/iou", "lr", "test/dice", "test/hd95"} <= tags
        log = pd.read_csv(cell / f"fold-{fold}" / "log.csv")
        for tag, column in (("train/loss", "train_loss"), ("val/dice", "val_dice"), ("lr", "lr")):
            scalars = events.Scalars(tag)
            assert [s.step for s in scalars] == [1, 2]
            assert [s.value for s in scalars] == pytest.approx(log[column].tolist(), rel=1e-6)
        test = pd.read_csv(cell / f"fold-{fold}" / "test_metrics.csv")
        assert events.Scalars("test/dice")[0].value == pytest.approx(test["dice"].mean(), rel=1e-6)


def test_mlflow_runs_read_back(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    cfg, cell = tracked_run
    client = mlflow_tracking.MlflowClient((cfg.output_dir.resolve() / MLFLOW_STORE).as_uri())
    experiment = client.get_experiment_by_name("tracked")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {f"{pipeline.cell_id(cfg)}/fold-{k}" for k in (1, 2)}
    for fold in (1, 2):
        run = runs[f"{pipeline.cell_id(cfg)}/fold-{fold}"]
        assert run.info.status == "FINISHED"
        assert run.data.params["train.epochs"] == "2" and run.data.params["model.name"] == "unet"
        assert run.data.params["input.size"] == "32" and run.data.tags["busbench.fold"] == str(fold)
        log = pd.read_csv(cell / f"fold-{fold}" / "log.csv")
        history = client.get_metric_history(run.info.run_id, "val_dice")
        history = sorted(history, key=lambda m: m.step)
        assert [m.step for m in history] == log["epoch"].tolist()
        assert [m.value for m in history] == pytest.approx(log["val_dice"].tolist())
        test = pd.read_csv(cell / f"fold-{fold}" / "test_metrics.csv")
        assert run.data.metrics["test_dice"] == pytest.approx(test["dice"].mean())
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"log.csv", "test_metrics.csv", "done.json", "cell"} <= artifacts
        cell_files = {a.path for a in client.list_artifacts(run.info.run_id, "cell")}
        assert {"cell/summary.csv", "cell/summary.md", "cell/ensemble_metrics.csv"} <= cell_files


def test_mlflow_follows_the_tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "elsewhere"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    cfg = tiny(tmp_path / "out", "tracking.mlflow=true", "train.epochs=1")
    (tracker,) = fold_trackers(cfg.tracking_target(), tmp_path / "fold-1", 1, "cell")
    tracker.finish({"dice": 0.5}, [])
    run = mlflow_tracking.MlflowClient(store.as_uri()).get_run(tracker.run_id)  # type: ignore[attr-defined]
    assert run.data.metrics == {"test_dice": 0.5}
    assert not (tmp_path / "out" / MLFLOW_STORE).exists()


def hide_packages(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import`` of these packages (and their modules) fail as if they were not installed."""
    for module in [m for m in sys.modules if m.split(".")[0] in names or m.startswith(names)]:
        monkeypatch.setitem(sys.modules, module, None)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_tracking_is_off_by_default_and_a_missing_extra_is_one_line(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert fold_trackers(tiny(tmp_path).tracking_target(), tmp_path, 1, "cell") == []
    hide_packages(monkeypatch, "mlflow")  # as if mlflow-skinny were not installed
    with pytest.raises(BusbenchError, match=r"^tracking.mlflow: true needs mlflow-skinny.*pip install "
                                            r"'busbench\[mlflow\]'[^\n]*$"):
        fold_trackers(tiny(tmp_path, "tracking.mlflow=true").tracking_target(), tmp_path, 1, "cell")
    hide_packages(monkeypatch, "tensorboard", "torch.utils.tensorboard")
    with pytest.raises(BusbenchError, match=r"pip install 'busbench\[tensorboard\]'"):
        fold_trackers(tiny(tmp_path, "tracking.tensorboard=true").tracking_target(), tmp_path, 1, "cell")


def test_turning_tracking_off_is_no_change_of_settings(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    cfg, _ = tracked_run
    untracked = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"tensorboard": False,
                                                                                   "mlflow": False})})
    assert not pipeline.run_experiment(untracked).empty  # the finished folds are reused, not refused
