"""The prediction sets of a report row, for the main table and the analyses beyond it (subgroups,
detection, morphology): the fold models of a run (k prediction sets of the same test images) and
each ensemble variant (one prediction set, ``fold`` 0); which test images hold a lesion, and which
predictions do (the image-level detection every table and analysis counts)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.metrics.per_image import FALSE_ALARM, MISSED_LESION
from busbench.report.collect import RunResults

NOT_RECORDED = "not recorded"  # a figure older runs (or an outside method's masks) do not carry


@dataclass(frozen=True)
class ScoredSet:
    """One row of the report: a model, its row type, and its per-image scores (column ``fold``)."""

    model: str
    variant: str
    per_image: pd.DataFrame


def scored_sets(run: RunResults) -> list[ScoredSet]:
    """The fold models' row (an outside method's one prediction set stands there, as in the main table),
    then each ensemble variant's."""
    sets = [ScoredSet(run.title, FOLD_MODELS, run.per_image)]
    if run.ensemble is not None:
        sets += [ScoredSet(run.title, str(variant), scores.assign(fold=0))
                 for variant, scores in run.ensemble.groupby("variant", sort=False)]
    return sets


def has_lesion(per_image: pd.DataFrame) -> pd.Series:
    """Whether each row's ground truth holds a lesion (found or missed), from its ``empty_case``."""
    return per_image["empty_case"].fillna("").isin(["", MISSED_LESION])


def predicts_lesion(per_image: pd.DataFrame) -> pd.Series:
    """Whether each row's scored mask holds any lesion pixel, from its ``empty_case``."""
    return per_image["empty_case"].fillna("").isin(["", FALSE_ALARM])


def image_detection(per_image: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per test image (index: case_id): whether its ground truth holds a lesion, and the share of the
    row's predictions (its fold models, or the one ensemble) that hold a lesion pixel. Sensitivity is
    the mean share over lesion images, the false-alarm rate (1 - specificity) over the others."""
    lesion = has_lesion(per_image).groupby(per_image["case_id"]).first()
    return lesion, predicts_lesion(per_image).astype(float).groupby(per_image["case_id"]).mean()


def image_means(per_image: pd.DataFrame, column: str) -> pd.Series:
    """``column`` per test image averaged over the fold models (index: case_id), NaN left out."""
    return pd.to_numeric(per_image[column], errors="coerce").groupby(per_image["case_id"]).mean()


def recorded(per_image: pd.DataFrame, column: str) -> bool:
    """Whether the per-image scores carry ``column`` with at least one value."""
    return column in per_image and bool(pd.to_numeric(per_image[column], errors="coerce").notna().any())
