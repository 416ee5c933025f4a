"""The seeds' augmentation presets do what their sources did, measured on a test image with markers.

Each output is identified by comparing it with numpy's own rotations and flips of the input, an
independent way of producing the eight square symmetries.
"""

from __future__ import annotations

import numpy as np
import pytest

from busbench.augment import PairAugmentation

SEEDS = range(200)


def _marked_image() -> tuple[np.ndarray, np.ndarray]:
    """A 32 px grey image whose eight rotations and flips all differ, and a lesion mask off-centre."""
    image = np.full((32, 32), 60, np.uint8)
    image[:4] = 250  # bright top rows: the skin side
    image[10:14, 2:6] = 180  # a marker on the left
    image[24:30, 20:23] = 120  # another one, lower right
    mask = np.zeros((32, 32), np.uint8)
    mask[8:16, 4:12] = 1
    return image, mask


def _symmetries(array: np.ndarray) -> dict[str, np.ndarray]:
    return {"identity": array, "rot90": np.rot90(array, 1), "rot180": np.rot90(array, 2), "rot270": np.rot90(array, 3),
            "hflip": array[:, ::-1], "vflip": array[::-1], "transpose": array.T, "anti-transpose": np.rot90(array, 2).T}


def _which_symmetry(out: np.ndarray, image: np.ndarray) -> str | None:
    return next((name for name, view in _symmetries(image).items() if np.array_equal(out, view)), None)


def test_cmunext_rotates_by_90_degrees_and_flips_vertically_and_the_mask_follows() -> None:
    image, mask = _marked_image()
    augment = PairAugmentation("cmunext")
    seen = []
    for seed in SEEDS:
        out, out_mask = augment(image, mask, seed)
        name = _which_symmetry(out, image)
        assert name is not None, f"seed {seed}: not a rotation or flip of the input"
        np.testing.assert_array_equal(out_mask, _symmetries(mask)[name])
        seen.append(name)
    assert set(seen) == set(_symmetries(image)), "all eight symmetries occur over 200 seeds"
    # RandomRotate90 (p 0.5, k uniform in 0..3) then a flip (p 0.5): plain image 0.625 x 0.5 + rot180's share
    assert 0.25 < seen.count("identity") / len(seen) < 0.5


def test_awesome_bus_leaves_half_the_images_untouched_and_never_flips_depth() -> None:
    image, mask = _marked_image()
    augment = PairAugmentation("awesome_bus")
    untouched = hflipped = 0
    for seed in SEEDS:
        out, out_mask = augment(image, mask, seed)
        assert set(np.unique(out_mask)) <= {0, 1}
        untouched += np.array_equal(out, image)
        hflipped += out[10:14, 26:30].mean() > out[10:14, 2:6].mean()  # the left marker moved right
        assert out[:3].mean() > out[-3:].mean(), f"seed {seed}: the bright skin rows left the top"
    # their Compose has p=0.5; the inner steps together leave about 9 % of the rest untouched too
    assert 0.45 < untouched / len(SEEDS) < 0.65
    assert 0.15 < hflipped / len(SEEDS) < 0.35  # 0.5 x 0.5


def test_ccf_bdci_2021_flips_vertically_and_changes_appearance() -> None:
    image, mask = _marked_image()
    augment = PairAugmentation("ccf_bdci_2021")
    upside_down = changed = 0
    for seed in SEEDS:
        out, out_mask = augment(image, mask, seed)
        assert set(np.unique(out_mask)) <= {0, 1} and out.shape == image.shape
        upside_down += int(np.argmax(out.mean(axis=1))) >= 16  # the brightest row in the lower half
        changed += not np.array_equal(out, image)
    assert 0.2 < upside_down / len(SEEDS) < 0.4  # vertical flip p=0.3
    assert changed / len(SEEDS) > 0.8


def test_the_steps_of_a_preset_draw_independently() -> None:
    """Two flips of p=0.3 (ccf_bdci_2021's first steps) fire together in about 9 % of samples, not
    30 % as when albumentations hands both the same seed."""
    image, mask = _marked_image()
    augment = PairAugmentation("ccf_bdci_2021")
    augment.compose.transforms = augment.compose.transforms[:2]  # the two flips alone
    names = [_which_symmetry(augment(image, mask, seed)[0], image) for seed in range(400)]
    shares = {name: names.count(name) / len(names) for name in ("hflip", "vflip", "rot180", "identity")}
    assert 0.05 < shares["rot180"] < 0.14  # both flips: 0.3 x 0.3
    assert 0.15 < shares["hflip"] < 0.27 and 0.15 < shares["vflip"] < 0.27  # one of them: 0.3 x 0.7
    assert 0.41 < shares["identity"] < 0.57  # neither: 0.7 x 0.7


@pytest.mark.parametrize("preset", ["standard", "strong", "light"])
def test_busbench_presets_never_rotate_by_90_degrees(preset: str) -> None:
    image, mask = _marked_image()
    augment = PairAugmentation(preset)
    for seed in range(50):
        out, _ = augment(image, mask, seed)
        assert _which_symmetry(out, image) not in {"rot90", "rot270", "vflip", "transpose", "anti-transpose"}
