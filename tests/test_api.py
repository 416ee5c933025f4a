"""The Python API (``busbench.api``, re-exported by ``busbench``): its documented examples run, an
array is predicted as `busbench predict` predicts a PNG of it, and anything else is one clear error."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cli_runner import run_cli
from PIL import Image

import busbench
from busbench import api
from busbench.data.split import record
from busbench.errors import BusbenchError
from busbench.layout.folders import CellFolder
from busbench.metrics.per_image import image_metrics

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.fixture(scope="module")
def split_path(tiny_run: Path) -> Path:
    return next(CellFolder(tiny_run).data_folder.glob("split-*.json"))


@pytest.mark.parametrize("module", [api, record], ids=["api", "split record"])
def test_the_documented_examples_run(module: object, tiny_run: Path, split_path: Path) -> None:
    """docs/api.md shows these docstrings: each example must give what it shows."""
    result = doctest.testmod(module, extraglobs={"busbench": busbench, "run_dir": tiny_run, "split_path": split_path},
                             optionflags=FLAGS, report=True)
    assert result.failed == 0 and result.attempted >= (19 if module is api else 3)


def test_import_busbench_loads_the_api_only_when_asked() -> None:
    code = ("import sys, busbench; print(busbench.__version__, 'torch' in sys.modules, 'busbench.api' in sys.modules); "
            "busbench.score; print('busbench.api' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert shown == [busbench.__version__, "False", "False", "True"]
    assert busbench.load_run is api.load_run
    assert busbench.__all__ == ["__version__", "create_model", "list_models", "load_run", "load_split", "score"]
    with pytest.raises(AttributeError, match="no attribute 'train_everything'"):
        busbench.train_everything  # noqa: B018


def test_create_model_and_list_models() -> None:
    assert "unet" in busbench.list_models() and busbench.list_models("no-such-*") == []
    assert busbench.list_models("unet?plus") == ["unet3plus"]
    net = busbench.create_model("unet", in_channels=1, base_channels=4)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    with pytest.raises(BusbenchError, match="unknown model 'unet9' .*did you mean unet,"):
        busbench.create_model("unet9")
    with pytest.raises(BusbenchError, match=r"^model 'unet': unknown argument\(s\) foo, width \(model.kwargs\); "
                                            "it takes base_channels$"):
        busbench.create_model("unet", foo=1, width=8)


def _written(tmp_path: Path, name: str, pixels: np.ndarray) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    Image.fromarray(pixels).save(folder / f"{name}.png")
    return folder


@pytest.mark.parametrize("kind", ["grey", "rgb", "12-bit"])
def test_an_array_is_predicted_as_busbench_predict_predicts_its_png(tiny_run: Path, tmp_path: Path, kind: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    grey = np.random.default_rng(1).integers(0, 256, (40, 56), dtype=np.uint8)
    pixels = {"grey": grey, "rgb": np.dstack([grey, grey // 2, 255 - grey]),
              "12-bit": grey.astype(np.uint16) * 16}[kind]
    folder = _written(tmp_path, kind, pixels)
    out = tmp_path / f"{kind}-out"
    assert run_cli(monkeypatch, "predict", "--run", str(tiny_run), "--input", str(folder), "--out", str(out),
                   "--device", "cpu") == 0
    from_file = np.array(Image.open(out / "masks" / f"{kind}.png")) // 255
    row = pd.read_csv(out / "predictions.csv").iloc[0]
    run = busbench.load_run(tiny_run, device="cpu")
    mask, probability = run.predict(pixels), run.predict_proba(pixels)
    assert mask.dtype == np.uint8 and mask.shape == pixels.shape[:2] and probability.dtype == np.float32
    np.testing.assert_array_equal(mask, from_file)
    assert float(probability.max()) == pytest.approx(row["max_probability"], abs=1e-6)
    # the same image at another scale is another image: a [0, 1] float copy is refused, not predicted
    with pytest.raises(BusbenchError, match=r"image: a float64 array .*\(image \* 255\)\.round\(\)\.astype"):
        run.predict(pixels / pixels.max())


def test_load_run_says_which_run_and_test_set(tiny_run: Path, split_path: Path, tmp_path: Path) -> None:
    run = busbench.load_run(tiny_run, device="cpu")
    assert (run.model, run.folds, run.path) == ("unet", 2, tiny_run)
    assert run.test_set_sha256 == busbench.load_split(split_path).test_set_sha256
    with pytest.raises(BusbenchError, match="not a busbench run folder"):
        busbench.load_run(tmp_path)
    with pytest.raises(BusbenchError, match="image: a uint8 array of shape \\(3, 40, 56\\)"):
        run.predict(np.zeros((3, 40, 56), np.uint8))  # channels first, as torch holds images


def test_score_gives_image_metrics_per_image_in_order() -> None:
    rng = np.random.default_rng(3)
    truths = [rng.random((24, 32)) > 0.6 for _ in range(3)] + [np.zeros((24, 32), bool)]
    preds = [rng.random((24, 32)) > 0.5 for _ in range(3)] + [np.zeros((24, 32), np.uint8)]
    table = busbench.score(np.stack(preds), truths)
    assert table["image"].tolist() == [0, 1, 2, 3]
    for i, (pred, truth) in enumerate(zip(preds, truths)):
        assert table.drop(columns="image").iloc[i].to_dict() == pytest.approx(image_metrics(pred, truth))
    assert table.loc[3, "empty_case"] == "both_empty"


@pytest.mark.parametrize(("preds", "truths", "said"), [
    ([np.zeros((8, 8), bool)] * 2, [np.zeros((8, 8), bool)], "2 predicted masks but 1 true masks"),
    ([np.zeros((8, 8), bool)], [np.zeros((8, 9), bool)], "image 0: predicted mask (8, 8) and true mask (8, 9)"),
    ([np.full((8, 8), 0.7)], [np.zeros((8, 8), bool)], "pred_masks[0] is a float64 array of shape (8, 8)"),
    ([np.zeros((8, 8), bool)], [np.zeros((2, 8, 8), bool)], "true_masks[0] is a bool array of shape (2, 8, 8)"),
])
def test_score_refuses_masks_it_cannot_pair(preds: list[np.ndarray], truths: list[np.ndarray], said: str) -> None:
    with pytest.raises(BusbenchError) as error:
        busbench.score(preds, truths)
    assert str(error.value).startswith(f"score: {said}")
