"""Issue 11's "done when", all at once: a plugin model (import path), a MONAI network, the nnU-Net
2-D baseline and an outside method scored from files appear in one `busbench report` table of the
same dataset and test set, with paired tests between them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cli_runner import run_cli

from busbench import pipeline
from busbench.config import load_config
from busbench.report.figures import plots
from busbench.report.names import model_title

pytest.importorskip("monai", reason="MONAI is an optional extra: pip install 'busbench[monai]'")

PLUGIN = '''
from torch import nn


def build(in_channels: int, num_classes: int, width: int = 4) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, num_classes, 1))
'''


def test_plugin_monai_nnunet_and_outside_method_share_one_table(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lab_models.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "runs"
    models = ("[{name: 'lab_models:build', label: lab_net},"
              " {name: monai.BasicUNet, kwargs: {features: [4, 4, 8, 8, 16, 4]}},"
              " {name: nnunet_2d, kwargs: {img_size: 64, deep_supervision: true}}]")
    cfg = load_config(None, [
        "name=zoo", f"output_dir={out}", "data.options.count=40", "data.options.size=80", "split.folds=2",
        "input.size=64", "train.epochs=1", "train.batch_size=4", "eval.tta=[]", "eval.postprocess=false",
        "train.threads=1", f"grid.models={models}",
    ])
    pipeline.run_experiment(cfg)
    data_dir = out / "data" / cfg.data.key()
    nnunet_run = next(p for p in (out / "zoo" / cfg.data.key()).iterdir() if p.name.startswith("nnunet_2d"))
    images, predicted = tmp_path / "test-images", tmp_path / "predicted"
    assert run_cli(monkeypatch, "export-test", str(data_dir), "--out", str(images)) == 0
    assert run_cli(monkeypatch, "predict", "--run", str(nnunet_run), "--input", str(images), "--out",
                   str(predicted), "--device", "cpu") == 0
    assert run_cli(monkeypatch, "score", str(data_dir), "--predictions", str(predicted / "masks"),
                   "--name", "outside") == 0

    monkeypatch.setattr(plots, "qualitative_grid", lambda grid, path: None)
    assert run_cli(monkeypatch, "report", str(out), "--out", str(tmp_path / "report")) == 0
    tables = list((tmp_path / "report" / "tables").glob("*_accuracy.csv"))
    assert len(tables) == 1  # one dataset, one test set: one table
    table = pd.read_csv(tables[0].with_name(tables[0].name.replace("_accuracy", ""))).set_index("model")
    basic_unet = next(m for m in table.index if m.startswith("BasicUNet (MONAI)"))
    nnunet = model_title(load_config(nnunet_run / "config.yaml").model)
    assert nnunet.startswith("nnU-Net 2-D (") and {"lab_net", nnunet, basic_unet, "outside"} <= set(table.index)
    assert table["test_images"].nunique() == 1
    markdown = tables[0].with_suffix(".md").read_text()
    assert "lab_net: lab_models:build" in markdown  # where the plugin came from
    comparisons = pd.read_csv(next((tmp_path / "report" / "statistics").glob("*_comparisons.csv")))
    pairs = {frozenset(p) for p in comparisons[["model_a", "model_b"]].itertuples(index=False)}
    assert frozenset({"lab_net", "outside"}) in pairs and frozenset({basic_unet, nnunet}) in pairs
