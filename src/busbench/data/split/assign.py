"""Stratified assignment of groups to parts (test/development, or k folds).

A group (a patient, a set of duplicate images) goes to one part whole. Groups are placed largest
first, ties in seeded random order, each into the part that is least full, relative to its
target, in the group's strata. Relative fullness spreads multi-image groups over a small test part
and a large development part in proportion, instead of filling the larger part first. A local
search then moves single groups while the squared deviation from the targets falls. At its end no
move of a one-image group lowers it: wherever part a holds a one-image group of stratum s,
deviation[a, s] - deviation[b, s] <= 1 for every part b. So every stratum is within one image of
its target whenever the groups allow it (two 2-image groups cannot be spread over three folds).
scikit-learn's StratifiedGroupKFold is not used: it only makes equal folds (no 20 % hold-out) and
gives no such bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_REPAIR_MOVES = 100_000


def _counts(groups: np.ndarray, strata: np.ndarray) -> np.ndarray:
    _, g = np.unique(groups, return_inverse=True)
    _, s = np.unique(strata, return_inverse=True)
    counts = np.zeros((g.max() + 1, s.max() + 1))
    np.add.at(counts, (g, s), 1)
    return counts


def _repair(counts: np.ndarray, part: np.ndarray, filled: np.ndarray, target: np.ndarray) -> None:
    """Move single groups between parts while that lowers the squared deviation (in place)."""
    squares = (counts**2).sum(axis=1)
    for _ in range(MAX_REPAIR_MOVES):
        dev = filled - target
        leave = squares - 2 * (counts * dev[part]).sum(axis=1)
        enter = squares[:, None] + 2 * counts @ dev.T
        change = leave[:, None] + enter
        change[np.arange(len(part)), part] = np.inf
        g, p = np.unravel_index(np.argmin(change), change.shape)
        if change[g, p] >= -1e-9:
            return
        filled[part[g]] -= counts[g]
        filled[p] += counts[g]
        part[g] = p


def assign_groups(groups: np.ndarray, strata: np.ndarray, weights: Sequence[float], seed: int) -> np.ndarray:
    """Part index (0..len(weights)-1) per item, keeping each group whole.

    ``groups`` and ``strata`` are per-item labels; ``weights`` the parts' shares of every stratum.
    """
    share = np.asarray(weights, dtype=float) / float(np.sum(weights))
    counts = _counts(groups, strata)
    target = np.outer(share, counts.sum(axis=0))
    filled = np.zeros_like(target)
    part = np.zeros(len(counts), dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(counts))
    order = order[np.argsort(-counts.sum(axis=1)[order], kind="stable")]
    safe_target = np.maximum(target, 1e-9)
    tie_break = np.random.default_rng(seed + 1).permutation(len(share))
    for g in order:
        fullness = (counts[g] * (filled + counts[g]) / safe_target).sum(axis=1)
        overall = filled.sum(axis=1) / np.maximum(target.sum(axis=1), 1e-9)
        p = np.lexsort((tie_break, overall, fullness))[0]
        filled[p] += counts[g]
        part[g] = p
    _repair(counts, part, filled, target)
    _, item_group = np.unique(groups, return_inverse=True)
    return part[item_group]
