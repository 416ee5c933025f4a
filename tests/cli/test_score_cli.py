"""Issue 11's "done when": an outside method's predictions (here: a trained run's `predict` on the
images `export-test` wrote) are scored with `busbench score`, and `busbench report` puts the method in
the table of the zoo model trained on that split, with its paired tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from PIL import Image

from busbench import pipeline
from busbench.config import load_config
from busbench.report.figures import plots
from busbench.report.names import model_title


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(output_dir, data_dir, run folder) of a tiny 2-fold U-Net run on synthetic data."""
    out = tmp_path_factory.mktemp("score-run")
    cfg = load_config(None, [
        "name=zoo", f"output_dir={out}", "data.options.count=40", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=2", "eval.tta=[]", "eval.postprocess=false",
        "train.threads=1", "eval.threshold=0.3",
    ])
    pipeline.run_experiment(cfg)
    return out, out / "data" / cfg.data.key(), out / "zoo" / cfg.data.key() / cfg.model.key()


def test_predictions_of_exported_test_images_join_the_report(trained: tuple[Path, Path, Path], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    out, data_dir, run_dir = trained
    images = tmp_path / "test-images"
    assert run_cli(monkeypatch, "export-test", str(data_dir), "--out", str(images)) == 0
    predicted = tmp_path / "predicted"
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(images), "--out", str(predicted),
                   "--device", "cpu") == 0
    assert run_cli(monkeypatch, "score", str(data_dir), "--predictions", str(predicted / "masks"),
                   "--name", "outside") == 0  # the run folder goes beside the zoo's, in OUTPUT_DIR
    scored = pd.read_csv(out / "outside" / data_dir.name / "outside" / "test_metrics.csv", keep_default_na=False)
    ensemble = pd.read_csv(run_dir / "ensemble_metrics.csv", keep_default_na=False)
    # the same fold ensemble, once scored by `run` and once through files: the same per-image Dice
    both = scored.merge(ensemble[ensemble["variant"] == "ensemble"], on="case_id", suffixes=("", "_run"))
    assert len(both) == len(scored) == ensemble["case_id"].nunique()
    assert (both["dice"] - both["dice_run"]).abs().max() < 1e-6
    for column in ("manifest_sha256", "split_sha256", "test_set_sha256"):
        assert set(scored[column]) == set(ensemble[column])

    report = tmp_path / "report"
    drawn = []
    monkeypatch.setattr(plots, "qualitative_grid", lambda grid, path: drawn.extend(grid) or None)
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    for title, _, _, predictions in drawn:  # the grid shows the outside method's masks as scored
        case_id = title.split(": ", 1)[1]
        mask = np.asarray(Image.open(predicted / "masks" / f"{case_id}.png")) > 0
        assert np.array_equal(predictions["outside"], mask)
    assert len(drawn) == 3
    tables = list((report / "tables").glob("*_accuracy.csv"))
    assert len(tables) == 1  # one test set: one table holding both
    numbers = tables[0].with_name(tables[0].name.replace("_accuracy", ""))
    table = pd.read_csv(numbers).query("variant == 'fold models'").set_index("model")  # one row per model
    zoo = model_title(load_config(run_dir / "config.yaml").model)  # "U-Net (width 4)", its key in the legend
    assert zoo == "U-Net (width 4)" and {zoo, "outside"} <= set(table.index)
    assert table.loc["outside", "dice_all_mean"] == pytest.approx(scored["dice"].mean(), abs=1e-6)
    assert pd.isna(table.loc["outside", "params_m"]) and pd.isna(table.loc["outside", "gflops"])
    assert pd.isna(table.loc["outside", "dice_lesion_std"]) and not pd.isna(table.loc[zoo, "dice_lesion_std"])
    markdown = tables[0].with_suffix(".md").read_text()
    assert "| outside ‡ |" in markdown and "‡ outside: outside predictions" in markdown
    comparisons = pd.read_csv(next((report / "statistics").glob("*_comparisons.csv")))
    pair = comparisons[comparisons[["model_a", "model_b"]].apply(set, axis=1) == {zoo, "outside"}]
    assert len(pair) == 1
