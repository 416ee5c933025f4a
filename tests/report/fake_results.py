"""Result folders with chosen per-image scores, laid out as `busbench run` writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from busbench.config import load_config

METRICS = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "hd95")


def write_run(root: Path, dataset: str, model: str, dice: dict[int, list[float]], labels: list[str],
              **extra: object) -> Path:
    """A finished run with the given per-image Dice per fold (other metrics derived from it)."""
    cfg = load_config(None, ["name=exp", f"output_dir={root}", "model.name=unext", "input.size=64",
                             f"data.options.seed={abs(hash(dataset)) % 1000}"])
    cell = root / "exp" / dataset / model
    cell.mkdir(parents=True, exist_ok=True)
    (cell / "config.yaml").write_text(cfg.to_yaml())
    for fold, values in dice.items():
        values = np.asarray(values, dtype=float)
        case_ids = [f"c{i:02d}" for i in range(len(values))]
        frame = pd.DataFrame({"fold": fold, "variant": "fold models", "case_id": case_ids,
                              "label": labels, "dice": values, "iou": values / (2 - values), "precision": values,
                              "recall": values, "specificity": 1.0, "accuracy": 1.0, "hd95": 10 * (1 - values),
                              "empty_case": ["false_alarm" if (lab == "normal" and v == 0) else "" for lab, v in
                                             zip(labels, values)]})
        (cell / f"fold-{fold}").mkdir(exist_ok=True)
        frame.to_csv(cell / f"fold-{fold}" / "test_metrics.csv", index=False)
        pd.DataFrame({"epoch": [1, 2], "lr": [0.1, 0.1], "train_loss": [0.9, 0.5], "val_loss": [0.8, 0.6],
                      "val_dice": [0.4, 0.6], "val_iou": [0.3, 0.5], "seconds": [1, 1]}).to_csv(
            cell / f"fold-{fold}" / "log.csv", index=False)
    for name, frame in extra.items():
        frame.to_csv(cell / name, index=False)
    return cell
