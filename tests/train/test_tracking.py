"""Experiment tracking: a tiny run's TensorBoard and MLflow records, read back with their own readers.

The tracked run trains fold 1 here and fold 2 in a separate process (``busbench run --fold 2``, as a
cluster array job does), then runs the finished cell again: MLflow must still hold one parent run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.layout.folders import MLFLOW_STORE, TENSORBOARD_DIR
from busbench.records import read_environment
from busbench.train.tracking import fold_trackers
from busbench.train.tracking_mlflow import cell_run

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
hparams_data = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")
mlflow_tracking = pytest.importorskip("mlflow.tracking")

SUMMARY_FILES = {"config.yaml", "environment.json", "summary.csv", "summary.md", "fold_summary.csv",
                 "ensemble_metrics.csv", "postprocessing.json"}


def tiny(tmp_path: Path, *extra: str) -> ExperimentConfig:
    return load_config(None, [
        "name=tracked", f"output_dir={tmp_path}", "data.dataset=synthetic", "data.options.count=30",
        "data.options.size=40", "data.options.seed=1", "split.folds=2", "input.size=32",
        "model.kwargs.base_channels=4", "train.epochs=2", "train.batch_size=8", "eval.postprocess=false", *extra,
    ])


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExperimentConfig, Path]:
    """One tiny run with both trackers on (to the local MLflow store: MLFLOW_TRACKING_URI unset): fold 1
    here, fold 2 in another process, then the finished cell once more, as a resumed run."""
    tmp_path = tmp_path_factory.mktemp("tracked")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        cfg = tiny(tmp_path, "tracking.tensorboard=true", "tracking.mlflow=true", "tracking.mlflow_models=true",
                   "eval.postprocess=true")
        assert pipeline.run_experiment(cfg, folds=[1]).empty
        config = tmp_path / "tracked.yaml"
        config.write_text(cfg.to_yaml())
        env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
        job = subprocess.run([sys.executable, "-m", "busbench", "run", str(config), "--fold", "2"],
                             capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1"}, timeout=600)
        assert job.returncode == 0, job.stdout + job.stderr
        assert not pipeline.run_experiment(cfg).empty  # the finished cell again: its summary logged again
    return cfg, cfg.output_dir / cfg.name / pipeline.cell_id(cfg)


def test_tensorboard_events_read_back(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    _, cell = tracked_run
    for fold in (1, 2):
        events = event_accumulator.EventAccumulator(str(cell / f"fold-{fold}" / TENSORBOARD_DIR))
        events.Reload()
        tags = set(events.Tags()["scalars"])
        assert {"train/loss", "val/loss", "val/dice", "val/iou", "lr", "test/dice", "test/hd95", "best_epoch"} <= tags
        log = pd.read_csv(cell / f"fold-{fold}" / "log.csv")
        for tag, column in (("train/loss", "train_loss"), ("val/dice", "val_dice"), ("lr", "lr")):
            scalars = events.Scalars(tag)
            assert [s.step for s in scalars] == [1, 2]
            assert [s.value for s in scalars] == pytest.approx(log[column].tolist(), rel=1e-6)
        test = pd.read_csv(cell / f"fold-{fold}" / "test_metrics.csv")
        (dice,) = events.Scalars("test/dice")  # once: the hparams metric is the test score itself
        assert dice.value == pytest.approx(test["dice"].mean(), rel=1e-6)
        done = json.loads((cell / f"fold-{fold}" / "done.json").read_text())
        assert [s.value for s in events.Scalars("best_epoch")] == [done["best_epoch"]]


def test_tensorboard_hparams_compare_the_folds(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    cfg, cell = tracked_run
    for fold in (1, 2):
        events = event_accumulator.EventAccumulator(str(cell / f"fold-{fold}" / TENSORBOARD_DIR))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        start = hparams_data.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        hparams = start.session_start_info.hparams
        assert hparams["model.name"].string_value == "unet"
        assert hparams["train.epochs"].number_value == 2 and hparams["input.size"].number_value == 32
        assert hparams["busbench.cell"].string_value == pipeline.cell_id(cfg)
        assert hparams["busbench.fold"].number_value == fold
        experiment = hparams_data.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
        metric_tags = {info.name.tag for info in experiment.metric_infos}
        assert {"test/dice", "test/nsd", "best_epoch"} <= metric_tags
        assert metric_tags <= set(events.Tags()["scalars"])  # each metric has its value in the fold's events


def mlflow_runs(cfg: ExperimentConfig) -> tuple[object, list[object], list[object]]:
    """The local store's client, the cell runs and the fold runs of the experiment."""
    client = mlflow_tracking.MlflowClient((cfg.output_dir.resolve() / MLFLOW_STORE).as_uri())
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    return (client, [r for r in runs if r.data.tags.get("busbench.level") == "cell"],
            [r for r in runs if r.data.tags.get("busbench.level") == "fold"])


def test_mlflow_one_parent_run_per_cell_with_the_summary(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    cfg, cell = tracked_run
    client, parents, folds = mlflow_runs(cfg)
    assert len(parents) == 1 and len(folds) == 2  # fold 2's process and the rerun found the parent
    (parent,) = parents
    assert parent.info.run_name == pipeline.cell_id(cfg) and parent.info.status == "FINISHED"
    assert parent.data.tags["busbench.cell"] == pipeline.cell_id(cfg)
    commit = read_environment(cell).git_commit
    assert commit and parent.data.tags["mlflow.source.git.commit"] == commit
    assert parent.data.params["model.name"] == "unet" and parent.data.params["train.epochs"] == "2"
    summary = pd.read_csv(cell / "summary.csv").set_index("variant")
    metrics = parent.data.metrics
    assert {"dice_mean", "dice_std", "nsd_mean", "hd95_std", "ensemble_dice", "ensemble_pp_dice",
            "ensemble_pp_nsd"} <= set(metrics)
    means = [c for c in summary.columns if c.endswith("_mean")]
    expected = {
        **{c: summary.loc["fold models", c] for c in means},
        **{c[:-5] + "_std": summary.loc["fold models", c[:-5] + "_std"] for c in means},
        **{"ensemble_" + c[:-5]: summary.loc["ensemble", c] for c in means},
        **{"ensemble_pp_" + c[:-5]: summary.loc["ensemble + post-processing", c] for c in means},
    }
    expected = {k: v for k, v in expected.items() if pd.notna(v)}
    assert metrics == pytest.approx(expected, rel=1e-6)
    assert SUMMARY_FILES <= {a.path for a in client.list_artifacts(parent.info.run_id)}


def test_mlflow_fold_runs_nest_under_the_cell(tracked_run: tuple[ExperimentConfig, Path], tmp_path: Path) -> None:
    cfg, cell = tracked_run
    client, (parent,), folds = mlflow_runs(cfg)
    runs = {r.info.run_name: r for r in folds}
    assert set(runs) == {f"{pipeline.cell_id(cfg)}/fold-{k}" for k in (1, 2)}
    for fold in (1, 2):
        run = runs[f"{pipeline.cell_id(cfg)}/fold-{fold}"]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["mlflow.source.git.commit"] == parent.data.tags["mlflow.source.git.commit"]
        assert run.data.params["train.epochs"] == "2" and run.data.params["model.name"] == "unet"
        assert run.data.params["input.size"] == "32" and run.data.tags["busbench.fold"] == str(fold)
        log = pd.read_csv(cell / f"fold-{fold}" / "log.csv")
        history = client.get_metric_history(run.info.run_id, "val_dice")
        history = sorted(history, key=lambda m: m.step)
        assert [m.step for m in history] == log["epoch"].tolist()
        assert [m.value for m in history] == pytest.approx(log["val_dice"].tolist())
        done = json.loads((cell / f"fold-{fold}" / "done.json").read_text())
        assert run.data.metrics["best_epoch"] == done["best_epoch"]
        best = log.loc[log[f"val_{done['select_metric']}"].idxmax(), "epoch"]
        assert run.data.metrics["best_epoch"] == best and run.data.metrics["epochs_run"] == len(log)
        test = pd.read_csv(cell / f"fold-{fold}" / "test_metrics.csv")
        assert run.data.metrics["test_dice"] == pytest.approx(test["dice"].mean())
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert artifacts == {"log.csv", "test_metrics.csv", "done.json", "best.pt"}  # best.pt: mlflow_models
        model = Path(client.download_artifacts(run.info.run_id, "best.pt", str(tmp_path)))
        assert model.read_bytes() == (cell / f"fold-{fold}" / "best.pt").read_bytes()


def test_mlflow_follows_the_tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "elsewhere"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    cfg = tiny(tmp_path / "out", "tracking.mlflow=true", "train.epochs=1")
    (tmp_path / "config.yaml").write_text(cfg.to_yaml())  # tmp_path: the cell folder
    (tracker,) = fold_trackers(cfg.tracking_target(), tmp_path / "fold-1", 1, "cell")
    tracker.finish({"dice": 0.5}, {"best_epoch": 1}, [])
    client = mlflow_tracking.MlflowClient(store.as_uri())
    run = client.get_run(tracker.run_id)  # type: ignore[attr-defined]
    assert run.data.metrics == {"test_dice": 0.5, "best_epoch": 1.0}
    parent = run.data.tags["mlflow.parentRunId"]
    tags = client.get_run(parent).data.tags
    assert tags == {"busbench.cell": "cell", "busbench.level": "cell", "mlflow.runName": "cell"}
    (config,) = client.list_artifacts(parent)  # before the cell is finished: a running cell shows its settings
    assert config.path == "config.yaml"
    assert not (tmp_path / "out" / MLFLOW_STORE).exists()


def test_fold_jobs_starting_at_once_create_one_cell_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs of one cell that both search before either creates (a slowed search) still share one
    cell run: the second waits for the first's lock in the cell folder, then finds its run."""
    store = (tmp_path / "store").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow_tracking.MlflowClient(store)
    experiment = client.create_experiment("tracked")

    class SlowSearch:
        def __getattr__(self, name: str) -> object:
            return getattr(client, name)

        def search_runs(self, *args: object, **kwargs: object) -> object:
            found = client.search_runs(*args, **kwargs)
            time.sleep(0.5)  # the other job searches meanwhile, unless the lock holds it back
            return found

    target = tiny(tmp_path / "out", "tracking.mlflow=true").tracking_target()
    with ThreadPoolExecutor(2) as jobs:
        ids = list(jobs.map(lambda _: cell_run(SlowSearch(), target, tmp_path / "cell", "cell"), range(2)))
    assert ids[0] == ids[1]
    assert len(client.search_runs([experiment])) == 1


def hide_packages(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import`` of these packages (and their modules) fail as if they were not installed."""
    for module in [m for m in sys.modules if m.split(".")[0] in names or m.startswith(names)]:
        monkeypatch.setitem(sys.modules, module, None)
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_tracking_is_off_by_default_and_a_missing_extra_is_one_line(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert fold_trackers(tiny(tmp_path).tracking_target(), tmp_path, 1, "cell") == []
    with pytest.raises(BusbenchError, match=r"tracking.mlflow_models: true logs to the fold's MLflow run: set "
                                            r"tracking.mlflow: true"):
        tiny(tmp_path, "tracking.mlflow_models=true")
    hide_packages(monkeypatch, "mlflow")  # as if mlflow-skinny were not installed
    with pytest.raises(BusbenchError, match=r"^tracking.mlflow: true needs mlflow-skinny.*pip install "
                                            r"'busbench\[mlflow\]'[^\n]*$"):
        fold_trackers(tiny(tmp_path, "tracking.mlflow=true").tracking_target(), tmp_path, 1, "cell")
    hide_packages(monkeypatch, "tensorboard", "torch.utils.tensorboard")
    with pytest.raises(BusbenchError, match=r"pip install 'busbench\[tensorboard\]'"):
        fold_trackers(tiny(tmp_path, "tracking.tensorboard=true").tracking_target(), tmp_path, 1, "cell")


def test_turning_tracking_off_is_no_change_of_settings(tracked_run: tuple[ExperimentConfig, Path]) -> None:
    cfg, _ = tracked_run
    untracked = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={
        "tensorboard": False, "mlflow": False, "mlflow_models": False})})
    assert not pipeline.run_experiment(untracked).empty  # the finished folds are reused, not refused
