"""Augmentation presets and learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

from busbench.config import ScheduleConfig
from busbench.train.augment import PRESETS, PairAugmentation
from busbench.train.optim import lr_factor


@pytest.mark.parametrize("preset", PRESETS)
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


def test_warmup_then_cosine_and_poly() -> None:
    cosine = lr_factor(ScheduleConfig(name="cosine", warmup_epochs=1, min_lr_ratio=0.1), steps_per_epoch=10, epochs=5)
    assert cosine(0) == pytest.approx(0.1) and cosine(9) == pytest.approx(1.0)
    assert cosine(10) == pytest.approx(1.0) and cosine(50) == pytest.approx(0.1)
    assert cosine(30) == pytest.approx(0.1 + 0.9 * 0.5)
    poly = lr_factor(ScheduleConfig(name="poly", power=1.0, min_lr_ratio=0.0), steps_per_epoch=4, epochs=2)
    assert [poly(s) for s in (0, 4, 8)] == pytest.approx([1.0, 0.5, 0.0])
    assert lr_factor(ScheduleConfig(name="constant"), 3, 3)(5) == 1.0
