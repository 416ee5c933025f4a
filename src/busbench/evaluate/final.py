"""Final evaluation: a fold model scored on the held-out test set at the original resolution.

This is the one place in busbench that reads the test cases (``held_out_test_ids``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from torch import nn

from busbench.config import EvalConfig
from busbench.data.access import held_out_test_ids
from busbench.data.cache import Cache
from busbench.data.manifest import Manifest
from busbench.evaluate.inference import original_size_probabilities
from busbench.evaluate.metrics import image_metrics


def score_test_set(model: nn.Module, manifest: Manifest, split_path: Path, cache: Cache, cfg: EvalConfig,
                   device: torch.device, dtype: torch.dtype | None = None) -> pd.DataFrame:
    """One row per test image: case_id, label, every metric, and its empty-mask case."""
    case_ids = held_out_test_ids(split_path, manifest)
    rows_by_id = manifest.frame.set_index("case_id", drop=False)
    records = []
    for case_id, probability in original_size_probabilities(model, cache, case_ids, device, cfg.batch_size, dtype):
        row = rows_by_id.loc[case_id]
        metrics = image_metrics(probability >= cfg.threshold, manifest.lesion(row), cfg.hd95)
        records.append({"case_id": case_id, "label": row["label"], **metrics})
    return pd.DataFrame(records)
