"""A tiny finished run (2 fold models at 32 px, TTA hflip + rot180, every post-processing step on) and a
few odd-sized scans, shared by the deploy tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.data.synthetic import generate_cases
from busbench.layout.atomic import write_json
from busbench.layout.folders import DONE
from busbench.train import checkpoint
from busbench.train.trainer import build_fold_model

# every post-processing step on, whatever the tiny run chose, so that the engines are compared through all of them
POSTPROCESSING = {"fill_holes": True, "min_area_fraction": 0.001, "keep_largest": True, "boundary_median": 3}


def centre_logits(cfg: ExperimentConfig, path: Path) -> None:
    """Shift a one-epoch fold model's output so that half its pixels are lesion: untrained, it predicts an
    almost constant probability below the threshold, and empty masks would compare nothing."""
    saved = checkpoint.load(path)
    model = build_fold_model(cfg.model, cfg.input)
    model.load_state_dict(saved["model"])
    with torch.no_grad():
        logits = model.eval()(torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0)))
    saved["model"]["head.bias"] -= logits.median()
    checkpoint.save_atomic(saved, path)
    done = path.parent / DONE  # the fold as if trained to these weights: its recorded hash follows them
    write_json({**json.loads(done.read_text()), "checkpoints": checkpoint.checkpoint_digests(path.parent)}, done)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx-run")
    cfg = load_config(None, [
        "name=o", f"output_dir={out}", "data.options.count=24", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1",
        "eval.tta=[hflip,rot180]", "split.test_size=0.35",  # 9 test images for the int8 check
        "train.amp=off",  # ONNX Runtime computes in fp32: PyTorch must too for the masks to match
    ])
    pipeline.run_experiment(cfg)
    run = out / "o" / cfg.data.key() / cfg.model.key()
    for path in run.glob("fold-*/best.pt"):
        centre_logits(cfg, path)
    chosen = json.loads((run / "postprocessing.json").read_text())
    (run / "postprocessing.json").write_text(json.dumps({**chosen, "postprocessing": POSTPROCESSING}))
    return run


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scans")
    for i, (height, width) in enumerate([(48, 48), (40, 64), (72, 56)]):
        case = generate_cases(1, max(height, width), seed=20 + i)[0]
        Image.fromarray(np.ascontiguousarray(case.image[:height, :width])).save(folder / f"scan{i}.png")
    return folder


