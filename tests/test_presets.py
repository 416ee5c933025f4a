"""The seeds' protocols shipped as presets: each validates, names its source and differences, and
runs end to end (one epoch on a tiny synthetic dataset, overridden with --set as a user would)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli

import busbench
from busbench import pipeline
from busbench.config import load_config
from busbench.report.build import build_report

SHIPPED = Path(busbench.__file__).parent / "configs"
PRESETS = ("awesome_bus", "cmunext", "ccf_bdci_2021")
# Small model variants, so that one epoch takes seconds on a shared CPU; the recipes keep theirs.
SMALL_MODELS = {"unet": ["model.kwargs.base_channels=4"], "cmunext": ["model.name=cmunext_s"],
                "linknet_efficientnet_b4": ["model.name=linknet_efficientnet_b0"]}
TINY = ["data.dataset=synthetic", "data.root=null", "data.options.count=30", "data.options.size=40",
        "data.options.seed=1", "split.folds=2", "input.size=32", "train.epochs=1", "train.batch_size=8"]


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_header_names_its_source_and_remaining_differences(preset: str) -> None:
    text = (SHIPPED / f"{preset}.yaml").read_text()
    header = text.split("\nname:")[0]
    assert "github.com/" in header and "Reproduced:" in header and "Remaining differences" in header
    cfg = load_config(SHIPPED / f"{preset}.yaml")
    assert cfg.train.augmentation == preset and cfg.grid is None


def test_presets_set_what_their_sources_used() -> None:
    awesome, cmunext, ccf = (load_config(SHIPPED / f"{p}.yaml") for p in PRESETS)
    assert (awesome.split.protocol, awesome.split.test_size, awesome.split.seed) == ("image_level", 0.2, 42)
    assert (awesome.input.size, awesome.input.resize, awesome.train.batch_size) == (224, "letterbox", 16)
    assert awesome.loss.kwargs == {"bce_weight": 0.5, "dice_weight": 0.5, "batch_dice": True, "smooth": 1e-7}
    assert (awesome.optimizer.name, awesome.optimizer.lr, awesome.optimizer.weight_decay) == ("adamw", 1e-4, 1e-5)
    assert awesome.schedule.min_lr_ratio * awesome.optimizer.lr == pytest.approx(1e-5)  # eta_min
    assert (awesome.train.epochs, awesome.train.patience) == (800, 80)
    assert (awesome.eval.hd95_space, awesome.eval.hd95_empty) == ("network", "drop_false_alarms")
    assert (cmunext.optimizer.name, cmunext.optimizer.lr, cmunext.optimizer.momentum) == ("sgd", 0.01, 0.9)
    assert (cmunext.schedule.name, cmunext.schedule.power, cmunext.schedule.min_lr_ratio) == ("poly", 0.9, 0.0)
    assert (cmunext.input.size, cmunext.input.channels, cmunext.input.resize) == (256, 3, "resize")
    assert cmunext.loss.kwargs == {"bce_weight": 0.5, "dice_weight": 1.0, "smooth": 1e-5}
    assert cmunext.train.epochs == 300
    assert (cmunext.split.protocol, cmunext.split.test_size) == ("image_level", 0.3)
    assert (ccf.input.size, ccf.input.channels, ccf.train.epochs, ccf.train.batch_size) == (256, 1, 100, 8)
    assert (ccf.loss.name, ccf.loss.kwargs) == ("dice", {"batch_dice": True})
    assert (ccf.schedule.name, ccf.split.folds) == ("cosine", 5)
    assert ccf.eval.tta == ["hflip", "vflip", "rot180"] and ccf.eval.postprocess
    # their DataLoaders keep the last partial batch (PyTorch's default); nnU-Net's batches are always full
    assert not awesome.train.drop_last and not cmunext.train.drop_last and not ccf.train.drop_last
    assert load_config(SHIPPED / "nnunet_2d.yaml").train.drop_last


def test_awesome_bus_states_what_is_not_reproduced_on_purpose() -> None:
    header = (SHIPPED / "awesome_bus.yaml").read_text().split("\nname:")[0]
    not_reproduced = header.split("Not reproduced, on purpose")[1]
    assert "augmentation is not random per sample" in not_reproduced and "workers" in not_reproduced
    assert "T_max 800" in not_reproduced


@pytest.mark.parametrize("preset", ["cmunext", "ccf_bdci_2021"])
def test_preset_runs_one_epoch_by_name(preset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_config(SHIPPED / f"{preset}.yaml").model.name
    overrides = [*TINY, f"output_dir={tmp_path}", *SMALL_MODELS[model]]
    code = run_cli(monkeypatch, "--quiet", "run", preset, *[arg for o in overrides for arg in ("--set", o)])
    assert code == 0
    summaries = list(tmp_path.rglob("*/summary.csv"))
    cell_summary = next(p for p in summaries if p.parent.parent.parent.name != tmp_path.name)
    rows = pd.read_csv(cell_summary)
    expected = ["fold models", "ensemble", *(["ensemble + post-processing"] if preset == "ccf_bdci_2021" else [])]
    assert rows["variant"].tolist() == expected
    assert rows["dice_mean"].between(0, 1).all() and rows["hd95_mean"].notna().all()


def test_awesome_bus_drops_false_alarms_from_hd95_in_files_tables_and_report(tmp_path: Path) -> None:
    # a threshold near 0 predicts a lesion everywhere: every normal test image is a false alarm
    cfg = load_config(SHIPPED / "awesome_bus.yaml", [*TINY, f"output_dir={tmp_path}", "model.kwargs.base_channels=4",
                                                     "eval.threshold=0.000001"])
    summary = pipeline.run_experiment(cfg)
    cell = tmp_path / cfg.name / cfg.data.key() / cfg.model.key()
    per_image = pd.read_csv(cell / "per_image_metrics.csv", dtype={"case_id": str}, keep_default_na=False)
    normal = per_image["label"] == "normal"
    assert normal.any() and (per_image.loc[normal, "empty_case"] == "false_alarm").all()
    assert (per_image.loc[normal, "hd95"] == "").all()  # left out: an empty cell
    lesion_hd95 = per_image.loc[~normal, "hd95"].astype(float)
    assert lesion_hd95.notna().all()
    fold_means = lesion_hd95.groupby(per_image.loc[~normal, "fold"]).mean()
    assert summary.loc[0, "hd95_mean"] == pytest.approx(fold_means.mean(), abs=1e-5)
    assert lesion_hd95.max() <= math.hypot(32, 32) + 1e-6  # network pixels of the 32 px square
    markdown = (cell / "summary.md").read_text()
    assert "HD95 measured on the 32 px network input" in markdown and "left out of the HD95 mean" in markdown
    build_report(tmp_path, tmp_path / "report", qualitative=False)
    table = pd.read_csv(next(p for p in (tmp_path / "report" / "tables").glob("*.csv")
                             if not p.stem.endswith(("_accuracy", "_cost", "_false_alarms"))))  # every number
    assert table["hd95_lesion_ci_low"].notna().all() and table["hd95_lesion_ci_high"].notna().all()
    assert table["protocol"].str.contains("eval.hd95_empty=drop_false_alarms").all()
