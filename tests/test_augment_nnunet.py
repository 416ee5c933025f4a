"""The "nnunet" augmentation preset: lateral mirroring only, depth stays down, masks stay binary."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.augment import ContrastAroundMean, PairAugmentation

SIDE = 64
SEEDS = range(300)


def _marked_pair() -> tuple[np.ndarray, np.ndarray]:
    """Bright skin rows on top, a lesion in the upper left quadrant."""
    image = np.full((SIDE, SIDE), 40, np.uint8)
    image[:16] = 200
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[6:18, 8:22] = 1
    return image, mask


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return float(rows.mean()), float(cols.mean())


def test_never_flips_vertically_but_mirrors_laterally_about_half_the_time() -> None:
    image, mask = _marked_pair()
    augment = PairAugmentation("nnunet")
    assert _centroid(np.flipud(mask))[0] > SIDE / 2  # the check would see a vertical flip
    mirrored = 0
    for seed in SEEDS:
        out, out_mask = augment(image, mask, seed)
        assert out_mask.dtype == np.uint8 and set(np.unique(out_mask)) <= {0, 1}
        assert out_mask.sum() > 0
        row, col = _centroid(out_mask)
        assert row < SIDE / 2, seed  # the lesion stays in the upper half: depth still runs downwards
        assert out[:16].mean() > out[-16:].mean(), seed  # the skin stays on top
        mirrored += col > SIDE / 2
    assert 0.4 < mirrored / len(SEEDS) < 0.6  # nnU-Net mirrors with probability 0.5


def test_rotation_and_scaling_move_the_lesion_sometimes_and_rarely() -> None:
    image, mask = _marked_pair()
    augment = PairAugmentation("nnunet")
    changed = 0
    for seed in SEEDS:
        _, out_mask = augment(image, mask, seed)
        unmirrored = out_mask if _centroid(out_mask)[1] < SIDE / 2 else np.fliplr(out_mask)
        changed += not np.array_equal(unmirrored, mask)
    # rotation p 0.2 and scaling p 0.2, independent: 1 - 0.8^2 = 0.36 of the samples move
    assert 0.26 < changed / len(SEEDS) < 0.46


def test_contrast_around_the_mean_by_hand() -> None:
    image = np.array([[0, 100, 200]], np.uint8)  # mean 100
    out = ContrastAroundMean().apply(image, factor=1.2)
    # (0-100)*1.2+100 = -20 -> clipped to the image's minimum 0; 200 -> 220 -> clipped to 200
    np.testing.assert_array_equal(out, [[0, 100, 200]])
    np.testing.assert_array_equal(ContrastAroundMean().apply(image, factor=0.75), [[25, 100, 175]])


@pytest.mark.parametrize("seed", range(3))
def test_contrast_factor_is_drawn_below_or_above_one_within_the_range(seed: int) -> None:
    transform = ContrastAroundMean(0.75, 1.25, p=1.0)
    transform.set_random_seed(seed)
    factors = [transform.get_params()["factor"] for _ in range(400)]
    assert 0.75 <= min(factors) and max(factors) <= 1.25
    assert 0.4 < np.mean(np.array(factors) < 1) < 0.6

