"""A cell's summary rows as flat metric names, for experiment trackers whose UI sorts runs by a
metric: ``dice_mean`` and ``dice_std`` (fold models), ``ensemble_dice``, ``ensemble_pp_dice``
(ensemble + post-processing), for every ``<metric>_mean`` column of the summary."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from busbench.evaluate.aggregate import ENSEMBLE_POSTPROCESSED, FOLD_MODELS

MEAN = "_mean"
# a summary variant's prefix (the fold models' names keep the summary's _mean/_std); others: the variant as a name
PREFIXES = {ENSEMBLE_POSTPROCESSED: "ensemble_pp_"}


def variant_prefix(variant: str) -> str:
    """``ensemble`` -> ``ensemble_``; ``ensemble + post-processing`` -> ``ensemble_pp_``."""
    return PREFIXES.get(variant) or re.sub(r"[^a-z0-9]+", "_", variant.lower()).strip("_") + "_"


def headline_metrics(rows: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """The summary's numbers, named as the summary names them: the fold models' ``<metric>_mean`` and
    ``<metric>_std``; an ensemble's ``<metric>_mean`` (its std is 0: one model) as ``<prefix><metric>``.
    Missing values (NaN) are left out."""
    metrics: dict[str, float] = {}
    for row in rows:
        variant = str(row["variant"])
        for column, value in row.items():
            if not column.endswith(MEAN) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            if variant == FOLD_MODELS:
                metrics[column] = float(value)
                std = row.get(column[:-len(MEAN)] + "_std")
                if isinstance(std, (int, float)) and math.isfinite(std):
                    metrics[column[:-len(MEAN)] + "_std"] = float(std)
            else:
                metrics[variant_prefix(variant) + column[:-len(MEAN)]] = float(value)
    return metrics
