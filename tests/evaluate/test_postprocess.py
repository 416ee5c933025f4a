"""Post-processing steps on hand-made masks, and their selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from console_file import console_file
from scipy.ndimage import distance_transform_edt

from busbench.evaluate.postprocess import (
    CANDIDATES,
    PostProcessing,
    choose_postprocessing,
    fill_holes,
    keep_largest_component,
    mean_dice,
    median_on_boundary,
    remove_small_components,
)
from busbench.metrics.per_image import dice_score


def _square(shape: tuple[int, int], top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + side, left:left + side] = True
    return mask


def test_remove_small_components_uses_8_connectivity() -> None:
    mask = _square((20, 20), 2, 2, 5)  # 25 px
    mask[15, 15] = mask[16, 16] = True  # a diagonal pair: one 2-px component
    mask[10, 18] = True
    out = remove_small_components(mask, min_area=2)
    assert out[2:7, 2:7].all() and out[15, 15] and out[16, 16] and not out[10, 18]
    assert remove_small_components(mask, 3).sum() == 25
    assert not remove_small_components(np.zeros((4, 4), bool), 3).any()


def test_keep_largest_component() -> None:
    mask = _square((20, 20), 0, 0, 4) | _square((20, 20), 10, 10, 6)
    np.testing.assert_array_equal(keep_largest_component(mask), _square((20, 20), 10, 10, 6))
    assert not keep_largest_component(np.zeros((3, 3), bool)).any()


def test_fill_holes() -> None:
    ring = _square((12, 12), 2, 2, 7) & ~_square((12, 12), 4, 4, 3)
    np.testing.assert_array_equal(fill_holes(ring), _square((12, 12), 2, 2, 7))


def test_boundary_median_smooths_the_edge_only() -> None:
    mask = _square((30, 30), 5, 5, 20)
    mask[5, 14] = False  # a notch in the edge
    mask[4, 20] = True  # a spur on the edge
    out = median_on_boundary(mask, 3)
    assert out[5, 14] and not out[4, 20]
    rng = np.random.default_rng(0)
    ragged = _square((40, 40), 8, 8, 24) ^ (rng.random((40, 40)) < 0.03)
    for size in (3, 5, 7):
        changed = median_on_boundary(ragged, size) != ragged
        # distance of every pixel to the nearest pixel of the other value
        to_edge = np.minimum(distance_transform_edt(ragged), distance_transform_edt(~ragged))
        assert changed.any() and (to_edge[changed] <= size // 2 + 1).all()


def test_steps_apply_in_order_and_describe_themselves() -> None:
    post = PostProcessing(fill_holes=True, min_area_fraction=0.01, keep_largest=True)
    mask = _square((20, 20), 2, 2, 8) & ~_square((20, 20), 4, 4, 2)
    mask |= _square((20, 20), 14, 14, 4)
    mask[0, 19] = True
    np.testing.assert_array_equal(post.apply(mask), _square((20, 20), 2, 2, 8))
    assert post.describe() == "fill_holes=True, min_area_fraction=0.01, keep_largest=True"
    assert PostProcessing().describe() == "none"


def _speckled(count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Square lesions and their predictions with false-positive specks."""
    rng = np.random.default_rng(0)
    truths, noisy = [], []
    for _ in range(count):
        truth = _square((40, 40), int(rng.integers(0, 20)), int(rng.integers(0, 20)), 12)
        truths.append(truth)
        noisy.append(truth | (rng.random((40, 40)) < 0.01))
    return noisy, truths


def test_selection_keeps_only_steps_that_raise_mean_dice() -> None:
    noisy, truths = _speckled(10)
    chosen, trials = choose_postprocessing(noisy, truths)
    assert chosen.min_area_fraction > 0 or chosen.keep_largest
    assert trials.loc[trials["kept"], "mean_dice"].is_monotonic_increasing
    clean_choice, _ = choose_postprocessing(truths, truths)
    assert clean_choice == PostProcessing()  # nothing improves a perfect prediction


def test_one_pass_scores_each_candidate_as_its_own_pass_would() -> None:
    noisy, truths = _speckled(6)
    candidates = [PostProcessing(), PostProcessing(keep_largest=True), PostProcessing(min_area_fraction=0.01)]
    expected = [float(np.mean([dice_score(c.apply(m), t) for m, t in zip(noisy, truths)])) for c in candidates]
    assert mean_dice(noisy, truths, candidates, "test") == expected
    assert expected[1] > expected[0]  # the candidates differ: a mix-up would show


def test_the_search_prints_a_progress_line_per_pass_into_a_file(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    noisy, truths = _speckled(4)
    with console_file(tmp_path / "stdout.txt", monkeypatch) as out:
        choose_postprocessing(noisy, truths)
    text = out.read_text()
    passes = len(CANDIDATES) + 1
    assert f"post-processing search: none (1/{passes}): 4/4 (100 %)" in text
    for step, (name, _) in enumerate(CANDIDATES, start=2):
        assert f"post-processing search: {name} ({step}/{passes}): 1/4 (25 %)" in text, name
        assert f"post-processing search: {name} ({step}/{passes}): 4/4 (100 %)" in text, name
