"""Checks a leaderboard runs on each bundle beyond its checksum: that every cell's identity is that of
its contents, that each row type (each fold model, the ensemble rows) scores every test case once
(images of identical pixels, one content key, as often as the test set holds them), and that each
row's IoU is the one its Dice implies.

``cells_sha256`` catches a file damaged or edited by accident; a hand edit that recomputed it still
has to keep these facts. A lab determined to forge can recompute them too: a leaderboard checks
consistency, and a result is proven only by re-running the published run (docs/registry.md).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.log import counted, listed
from busbench.report.bundle.record import CASE, Bundle, BundleCell, cell_identity, run_identity, short_key

# Per-image metrics are written with 6 decimals: IoU and Dice/(2 - Dice) agree within rounding.
_IOU_TOLERANCE = 1e-5


def _row_sets(cell: BundleCell, frame: pd.DataFrame) -> list[str]:
    """Each row type that does not score the test cases as the first fold model does: each key as often
    (once, or as often as the test set holds images of identical pixels, whose content keys are one),
    ``test_set.cases`` rows in all."""
    problems = []
    sets = frame.assign(fold=frame["fold"].where(frame["variant"] == FOLD_MODELS, 0)).groupby(["variant", "fold"])
    reference: Counter[str] | None = None
    for (variant, fold), rows in sorted(sets, key=lambda item: (item[0][0] != FOLD_MODELS, item[0])):
        counts = Counter(rows[CASE])
        reference = reference or counts
        extra = sorted(short_key(k) for k in counts - reference)
        missing = sorted(short_key(k) for k in reference - counts)
        if extra or missing or len(rows) != cell.test_set.cases:
            name = f"fold model {fold}" if variant == FOLD_MODELS else str(variant)
            details = [f"more often: {listed(extra)}"] * bool(extra) + [f"missing: {listed(missing)}"] * bool(missing)
            problems.append(f"{name} scores {counted(len(rows), 'row')} for {cell.test_set.cases} test cases"
                            + (f" ({'; '.join(details)})" if details else ""))
    return problems


def _iou_from_dice(frame: pd.DataFrame) -> list[str]:
    """Rows whose IoU is not Dice / (2 - Dice), the identity of the two overlaps of one mask pair."""
    if not {"dice", "iou"} <= set(frame.columns):
        return []
    both = frame.dropna(subset=["dice", "iou"])
    off = both.loc[~np.isclose(both["iou"], both["dice"] / (2 - both["dice"]), rtol=0, atol=_IOU_TOLERANCE), CASE]
    shown = listed(sorted({short_key(k) for k in off}))
    return [f"{counted(len(off), 'row')} with an IoU that is not Dice / (2 - Dice) ({shown})"] if len(off) else []


def bundle_problems(bundle: Bundle) -> list[str]:
    """What in a bundle, read and checksummed, does not hold together; empty when all does."""
    problems = []
    for cell in bundle.cells:
        found = []
        if cell_identity(cell.config, cell.environment, cell.columns, cell.rows) != cell.identity:
            found.append("its identity is not that of its config, environment and metrics")
        frame = cell.frame()
        found += _row_sets(cell, frame) + _iou_from_dice(frame)
        problems += [f"cell {cell.cell}: {problem}" for problem in found]
    if run_identity(cell.identity for cell in bundle.cells) != bundle.identity:
        problems.append("the run's identity is not that of its cells")
    return problems
