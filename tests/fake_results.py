"""Result folders with chosen per-image scores, laid out as `busbench run` writes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from busbench.config import load_config
from busbench.data.adapters import ADAPTERS

METRICS = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "hd95", "nsd")

# Three fake models' per-image Dice over two folds of ten test images (8 with a lesion, 2 normal): A best, B worst,
# each with one false alarm on a normal image in fold 1; the report tests' shared results.
LABELS = ["benign"] * 8 + ["normal"] * 2
_RNG = np.random.default_rng(0)


def scores_around(center: float) -> list[float]:
    """Ten per-image Dice drawn around ``center`` (sd 0.1), clipped to [0, 1]."""
    return np.clip(_RNG.normal(center, 0.1, 10), 0, 1).round(4).tolist()


A = {1: scores_around(0.80), 2: scores_around(0.82)}
B = {1: scores_around(0.60), 2: scores_around(0.62)}
C = {1: scores_around(0.70), 2: scores_around(0.70)}
for _scores_of_a_model in (A, B, C):
    _scores_of_a_model[1][9] = 0.0


def _empty_case(label: str, dice: float) -> str:
    """Dice 0 on a normal image is a false alarm, on a lesion image a missed lesion (the fakes
    predict something wherever Dice > 0)."""
    if dice == 0:
        return "false_alarm" if label == "normal" else "missed_lesion"
    return "both_empty" if label == "normal" else ""


def write_run(root: Path, dataset: str, model: str, dice: dict[int, list[float]], labels: list[str],
              experiment: str = "exp", test_set: str | None = None, groups: list[int] | None = None,
              split_seed: int = 42, case_ids: list[str] | None = None, settings: tuple[str, ...] = (),
              hd95_of_a_miss: float = 10.0, **extra: object) -> Path:
    """A finished run with the given per-image Dice per fold (other metrics derived from it).

    ``test_set``: the test_set_sha256 its environment.json records (none written without it);
    ``groups``: the per-image ``group`` column (left out without it); ``settings``: config overrides
    (``model.name=cmunext_s``); without a model.label among them the folder name is the label;
    ``hd95_of_a_miss``: the HD95 in px of a Dice-0 image (an image's HD95 falls linearly with its Dice).
    """
    adapter = dataset if dataset in ADAPTERS else "synthetic"  # "busi" is shown as BUSI
    cfg = load_config(None, [f"name={experiment}", f"output_dir={root}", "model.name=unext", "input.size=64",
                             f"data.dataset={adapter}",
                             f"data.options.seed={abs(hash(dataset)) % 1000}", f"split.seed={split_seed}",
                             *([] if any(s.startswith("model.label=") for s in settings) else [f"model.label={model}"]),
                             *settings])
    cell = root / experiment / dataset / model
    cell.mkdir(parents=True, exist_ok=True)
    (cell / "config.yaml").write_text(cfg.to_yaml())
    if test_set is not None:
        (cell / "environment.json").write_text(json.dumps({"test_set_sha256": test_set, "split_sha256": "s",
                                                           "manifest_sha256": "m"}))
    for fold, values in dice.items():
        values = np.asarray(values, dtype=float)
        frame = pd.DataFrame({"fold": fold, "variant": "fold models",
                              "case_id": case_ids or [f"c{i:02d}" for i in range(len(values))],
                              "label": labels, "dice": values, "iou": values / (2 - values), "precision": values,
                              "recall": values, "specificity": 1.0, "accuracy": 1.0,
                              "hd95": hd95_of_a_miss * (1 - values), "nsd": values, "nsd_tolerance": 2.0,
                              "empty_case": [_empty_case(label, value) for label, value in zip(labels, values)]})
        if groups is not None:
            frame.insert(3, "group", groups)
        (cell / f"fold-{fold}").mkdir(exist_ok=True)
        frame.to_csv(cell / f"fold-{fold}" / "test_metrics.csv", index=False)
        pd.DataFrame({"epoch": [1, 2], "lr": [0.1, 0.1], "train_loss": [0.9, 0.5], "val_loss": [0.8, 0.6],
                      "val_dice": [0.4, 0.6], "val_iou": [0.3, 0.5], "val_lesion_dice": [0.5, 0.45],
                      "seconds": [1, 1]}).to_csv(
            cell / f"fold-{fold}" / "log.csv", index=False)
    for name, frame in extra.items():
        frame.to_csv(cell / name, index=False)
    return cell
