"""``masks_agree`` on real lesions: a sample of BUSI's and BUS-BRA's masks, with the cases that set the
tolerance, resampled as copies are (nearest neighbour, or interpolated and thresholded at half; 0.5x to
2x, one pixel either way, two copies resampled apart from one original) always agree with the original;
the same masks dilated or eroded by 2-3 px, replaced by their box or ellipse, or shifted by 3 px at the
copy's resolution mostly do not (the calibration on every mask: docs/registry.md)."""

from __future__ import annotations

import numpy as np
import pytest
from busi_copies import busi_cases
from mask_tolerance import EDITS, RESAMPLERS, SCALES, copy_size
from real_data import real_dataset

from busbench.data.content.fingerprint import lesion_box
from busbench.data.content.matching import masks_agree
from busbench.data.io import read_mask

SAMPLE_STEP = 8  # every 8th lesion of each dataset
# The honest copies that moved the box most (benchmarks/mask_tolerance.py): an edge and the centre (a thin
# spur lost), and the area (a row and a column dropped or doubled, one pixel smaller or larger).
HARD_CASES = ("bus_0622-r", "bus_0499-r", "benign (69)")
COARSER_COPY = ("0.5", "0.75", "0.9", "-1 px", "+1 px")  # the copy's grid is the coarser one (or one pixel finer)


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return masks_agree(lesion_box(a), lesion_box(b), (a.shape[1], a.shape[0]), (b.shape[1], b.shape[0]))


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


@pytest.fixture(scope="module")
def lesions() -> dict[str, np.ndarray]:
    """Every ``SAMPLE_STEP``-th lesion of BUSI (the union of its masks) and of BUS-BRA, and ``HARD_CASES``."""
    busi = {cid: np.logical_or.reduce([read_mask(m).lesion for m in case.masks])
            for cid, case in busi_cases().items() if case.label != "normal"}
    masks = sorted((real_dataset("BUSBRA") / "Masks").glob("mask_*.png"))
    busbra = {m.stem.replace("mask_", "bus_", 1): m for m in masks}
    chosen = {cid: busi[cid] for cid in sorted(busi)[::SAMPLE_STEP]}
    chosen |= {cid: read_mask(busbra[cid]).lesion for cid in sorted(busbra)[::SAMPLE_STEP]}
    chosen |= {cid: busi[cid] if cid in busi else read_mask(busbra[cid]).lesion for cid in HARD_CASES}
    return chosen


def test_honest_resampled_copies_agree(lesions: dict[str, np.ndarray]) -> None:
    refused = [(cid, scale, name) for cid, lesion in lesions.items() for scale in SCALES
               for name, resample in RESAMPLERS.items()
               if not _agree(lesion, resample(lesion, copy_size(lesion, scale)))]
    assert refused == []


def test_two_copies_resampled_apart_from_one_original_agree(lesions: dict[str, np.ndarray]) -> None:
    """A registry made from one resampled copy, a user's copy resampled otherwise from the same original."""
    refused = []
    for cid, lesion in lesions.items():
        registry = RESAMPLERS["nearest"](lesion, copy_size(lesion, "0.75"))
        refused += [(cid, name) for name, resample in RESAMPLERS.items()
                    if not _agree(registry, resample(lesion, copy_size(lesion, "0.9")))]
    assert refused == []


def _edited(lesions: dict[str, np.ndarray], edit: str) -> tuple[np.ndarray, np.ndarray]:
    """Each lesion's copies at ``COARSER_COPY`` scales (nearest neighbour) edited at the copy's resolution: the
    Dice of each edited copy with its copy before the edit, and whether it agrees with the lesion."""
    dice, agree = [], []
    for lesion in lesions.values():
        for scale in COARSER_COPY:
            copy = RESAMPLERS["nearest exact"](lesion, copy_size(lesion, scale))
            edited = EDITS[edit](copy)
            dice.append(_dice(copy, edited))
            agree.append(_agree(lesion, edited))
    return np.array(dice), np.array(agree)


@pytest.mark.parametrize(("edit", "most"), [("dilated 2 px", 0.0), ("eroded 2 px", 0.0), ("dilated 3 px", 0.0),
                                            ("box", 0.02), ("shifted 3 px", 0.06)])
def test_edited_masks_are_refused(lesions: dict[str, np.ndarray], edit: str, most: float) -> None:
    _, agree = _edited(lesions, edit)
    assert agree.mean() <= most, f"{agree.sum()} of {agree.size} accepted"


def test_an_ellipse_is_refused_unless_the_lesion_nearly_is_one(lesions: dict[str, np.ndarray]) -> None:
    """An ellipse within a pixel's noise of the lesion passes (box and area are the lesion's); one that changes
    the mask (Dice below 0.9) rarely does, and none below 0.85."""
    dice, agree = _edited(lesions, "fitted ellipse")
    assert not agree[dice < 0.85].any()
    assert agree[dice < 0.9].mean() <= 0.15, f"{agree[dice < 0.9].sum()} of {(dice < 0.9).sum()} accepted"
