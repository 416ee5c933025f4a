"""What both trackers share: the fold tracker's interface, the one-line error of a missing extra, and
the run's values as trackers take them (finite numbers; settings as dotted keys)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from busbench.errors import BusbenchError
from busbench.train.callbacks import EpochRecord

NOT_LOGGED = ("epoch",)  # an epoch record's step, not a value


class FoldTracker(Protocol):
    def __call__(self, record: EpochRecord) -> None: ...

    def finish(self, test_scores: Mapping[str, object], fold_values: Mapping[str, float], files: list[Path]) -> None:
        """``test_scores``: the fold model's test means; ``fold_values``: ``best_epoch``, ``epochs_run``."""


def missing_extra(extra: str, package: str) -> BusbenchError:
    return BusbenchError(f"tracking.{extra}: true needs {package}, which is not installed; "
                         f"pip install 'busbench[{extra}]' (or set tracking.{extra}: false)")


def finite_numbers(values: Mapping[str, object]) -> dict[str, float]:
    """The finite numeric values, as floats (NaN, e.g. a lesion Dice without lesions, is left out)."""
    kept = {}
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)):
            kept[key] = float(value)
    return kept


def flat_settings(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys (``train.epochs``); the leaves as they are."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat.update(flat_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def flat_params(values: Mapping[str, Any]) -> dict[str, str]:
    """Nested settings as dotted keys and string values, as MLflow params."""
    return {key: value if isinstance(value, str) else json.dumps(value, default=str)
            for key, value in flat_settings(values).items()}


def flat_hparams(values: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """Nested settings as dotted keys, scalars kept (TensorBoard's hparams compare numbers as numbers),
    lists, empty sections and nulls as JSON text."""
    return {key: value if isinstance(value, (bool, int, float, str)) else json.dumps(value, default=str)
            for key, value in flat_settings(values).items()}
