"""Augmentation presets and learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.augment import PRESETS, A, PairAugmentation, seed_each_transform  # A: imported off-line
from busbench.config import ScheduleConfig
from busbench.train.optim import lr_factor


@pytest.mark.parametrize("preset", PRESETS.names())
def test_augmentation_is_seeded_and_keeps_masks_binary(preset: str) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (32, 32), dtype=np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 5:15] = 1
    augment = PairAugmentation(preset, elastic=True)
    a_img, a_mask = augment(image, mask, seed=7)
    b_img, b_mask = augment(image, mask, seed=7)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    assert a_img.shape == image.shape and a_img.dtype == np.uint8
    assert set(np.unique(a_mask)) <= {0, 1}
    outputs = {augment(image, mask, seed=s)[0].tobytes() for s in range(8)}
    assert len(outputs) > 1


def test_no_vertical_flips() -> None:
    image = np.zeros((16, 16), np.uint8)
    image[:4] = 255  # bright top rows (skin side)
    augment = PairAugmentation("light")
    for seed in range(20):
        out, _ = augment(image, np.zeros_like(image), seed)
        assert out[:4].mean() > out[-4:].mean() + 100


def test_each_transform_draws_independently() -> None:
    """albumentations seeds every transform alike, so two p=0.5 flips would fire together or not at all."""
    mask = np.zeros((8, 8), np.uint8)
    mask[1, 2] = 1
    compose = A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)], seed=0)
    outcomes = []
    for seed in range(400):
        seed_each_transform(compose, seed)
        out = compose(image=mask, mask=mask)["mask"]
        outcomes.append((np.array_equal(out, mask), np.array_equal(out, np.fliplr(mask)),
                         np.array_equal(out, np.flipud(mask)), np.array_equal(out, mask[::-1, ::-1])))
    shares = np.mean(outcomes, axis=0)  # none, horizontal only, vertical only, both: 1/4 each
    assert np.all(np.abs(shares - 0.25) < 0.07), shares


def test_warmup_then_cosine_and_poly() -> None:
    cosine = lr_factor(ScheduleConfig(name="cosine", warmup_epochs=1, min_lr_ratio=0.1), steps_per_epoch=10, epochs=5)
    assert cosine(0) == pytest.approx(0.1) and cosine(9) == pytest.approx(1.0)
    assert cosine(10) == pytest.approx(1.0) and cosine(50) == pytest.approx(0.1)
    assert cosine(30) == pytest.approx(0.1 + 0.9 * 0.5)
    poly = lr_factor(ScheduleConfig(name="poly", power=1.0, min_lr_ratio=0.0), steps_per_epoch=4, epochs=2)
    assert [poly(s) for s in (0, 4, 8)] == pytest.approx([1.0, 0.5, 0.0])
    assert lr_factor(ScheduleConfig(name="constant"), 3, 3)(5) == 1.0
