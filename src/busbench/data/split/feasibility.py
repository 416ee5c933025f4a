"""A test set and folds that every fold can validate on, or one error line naming the values that work.

Whether a test size and a fold count can be honoured depends on the dataset, not on the settings
alone: groups are kept whole (70 images may form 52 groups), and every fold must hold an image
with a lesion, since a fold of normal images alone cannot select a segmentation model (its lesion
Dice is undefined and training stops there). The test set must hold an image. When a cut falls
short, the error names both settings and the values of each that work with the other as given,
found by making the cut with each candidate (a cut takes milliseconds): fold counts by bisection,
test sizes in steps of 0.05.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from busbench.errors import BusbenchError

Roles = tuple[np.ndarray, np.ndarray]  # is_test and fold (1..k, 0 for test) per image
Cut = Callable[[float, int], Roles]  # (test_size, folds) -> roles; raises ValueError where it cannot cut
TEST_SIZES = tuple(round(0.05 * step, 2) for step in range(1, 20))


def shortfall(roles: Roles, lesion: np.ndarray, folds: int) -> str | None:
    """What the cut lacks (the test set an image, a fold an image or a lesion image), or None."""
    is_test, fold = roles
    if not is_test.any():
        return "the test set would hold no image"
    for k in range(1, folds + 1):
        members = ~is_test & (fold == k)
        if not members.any():
            return f"fold {k} of {folds} would hold no image"
        if lesion.any() and not lesion[members].any():
            return f"fold {k} of {folds} would hold no lesion image to validate on"
    return None


def _attempt(cut: Cut, lesion: np.ndarray, test_size: float, folds: int) -> tuple[Roles | None, str | None]:
    """The cut and what it lacks (None: nothing)."""
    try:
        roles = cut(test_size, folds)
    except ValueError as exc:  # a cut that cannot be made at all (scikit-learn's refusals say why)
        return None, str(exc).split("\n")[0].rstrip(".")
    return roles, shortfall(roles, lesion, folds)


def _works(cut: Cut, lesion: np.ndarray, test_size: float, folds: int) -> bool:
    """Whether a candidate cut works; scikit-learn's warnings about a candidate's thin classes are
    not the user's split, so they are not shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _attempt(cut, lesion, test_size, folds)[1] is None


def _most_folds(cut: Cut, lesion: np.ndarray, test_size: float, folds: int) -> int | None:
    """The largest fold count below ``folds`` that works (bisection), None if 2 does not."""
    if folds <= 2 or not _works(cut, lesion, test_size, 2):
        return None
    works, fails = 2, folds
    while fails - works > 1:
        middle = (works + fails) // 2
        works, fails = (middle, fails) if _works(cut, lesion, test_size, middle) else (works, middle)
    return works


def checked_cut(cut: Cut, lesion: np.ndarray, test_size: float, folds: int, dataset: str) -> Roles:
    """The cut for ``test_size`` and ``folds``, or a BusbenchError naming the setting to change and
    the values that work; ``dataset`` names the manifest and what it holds, for the message."""
    roles, problem = _attempt(cut, lesion, test_size, folds)
    if roles is not None and problem is None:
        return roles
    most = _most_folds(cut, lesion, test_size, folds)
    sizes = [size for size in TEST_SIZES if _works(cut, lesion, size, folds)]
    ways = ([f"--folds 2 to {most} (with --test-size {test_size:g})"] if most is not None else []) + (
        [f"--test-size {sizes[0]:g} to {sizes[-1]:g} (with --folds {folds})"] if sizes else [])
    if not ways:
        raise BusbenchError(f"{dataset}: too few images for a test set and {folds} folds: {problem} at --test-size "
                            f"{test_size:g}, and no test size from {TEST_SIZES[0]:g} to {TEST_SIZES[-1]:g} works; "
                            f"{'lower --folds or ' if folds > 2 else ''}use a larger dataset")
    raise BusbenchError(f"{dataset}: --test-size {test_size:g} with --folds {folds} does not work: {problem}; use "
                        f"{' or '.join(ways)}")
