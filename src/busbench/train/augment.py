"""Augmentation presets for ultrasound, built with albumentations.

busbench's own presets (``none``, ``light``, ``standard``, ``strong``) use only horizontal flips:
depth runs top to bottom in a B-mode image, and posterior shadowing lies below a lesion, so a
vertical flip would make anatomically impossible images. Affine changes are
small (probe pressure and position), brightness/contrast imitate gain settings, and multiplicative
per-pixel noise imitates speckle. Elastic deformation is an option on any preset.

The seeds' presets (``awesome_bus``, ``cmunext``, ``ccf_bdci_2021``) reproduce published recipes as
they ran, so that their numbers can be rerun under busbench's protocol; ``cmunext`` and
``ccf_bdci_2021`` therefore include vertical flips (and ``cmunext`` 90-degree rotations), which the
anatomy argument above rules out for busbench's own presets. Each function names its source and
what could not be reproduced exactly; the shipped configs of the same names use them.

Each sample is augmented with its own seed (from the run seed, the epoch and the sample index),
so an epoch is the same whichever worker loads which sample, and a resumed run sees exactly the
augmentations an uninterrupted run would have seen.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # never reach the network at import
import albumentations as A  # noqa: E402


def _awesome_bus() -> list[A.BasicTransform]:
    """Awesome-BUS, data/preprocessing/augmentation.py (albumentations 2.0.8, as pinned there).

    Their whole list is applied to half the samples (the Compose has p=0.5). Their custom
    ``SpeckleNoise`` passes ``(always_apply, p)`` positionally to a base class that takes only
    ``p`` in 2.0.8, which leaves it at p=0, so it never wins its OneOf: it is left out here.
    """
    return [A.Sequential([
        A.HorizontalFlip(p=0.5),
        A.Rotate(limit=10, border_mode=0, p=0.2),
        A.OneOf([A.ElasticTransform(alpha=1, sigma=50, p=0.5), A.GridDistortion(num_steps=5, distort_limit=0.2, p=0.5),
                 A.OpticalDistortion(distort_limit=0.2, p=0.5)], p=0.1),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.2),
        A.CLAHE(clip_limit=1.2, tile_grid_size=(8, 8), p=0.2),
        A.GaussNoise(p=0.2),
        A.CoarseDropout(p=0.2),
        A.OneOf([A.MotionBlur(blur_limit=3, p=0.5), A.Sharpen(alpha=(0.2, 0.4), lightness=(0.5, 1.0), p=0.3)], p=0.2),
    ], p=0.5)]


def _cmunext() -> list[A.BasicTransform]:
    """CMUNeXt, main.py: ``RandomRotate90()`` then ``Flip()`` (albumentations 1.x defaults, p=0.5
    each). ``Flip`` chose a horizontal, a vertical or both flips with equal chance; it no longer
    exists in albumentations 2, so it is spelt out. They resize after these; busbench augments the
    resized square, which gives the same images for these transforms."""
    both = A.Sequential([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], p=1.0)
    return [A.RandomRotate90(p=0.5), A.OneOf([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0), both], p=0.5)]


def _ccf_bdci_2021() -> list[A.BasicTransform]:
    """CCF BDCI 2021 ULSEG winner (chaineypung/CCFBDCI-2021-Ultrasonic-Tumor-Segmentation-Rank1st,
    dataset.py, written with imgaug): flips (p 0.3 each), half the time a crop of up to 5 % and
    half the time an affine change (scale 0.8-1.2, shift ±20 %, rotation ±10°, shear ±5°), then 0 to
    5 of seven appearance/distortion steps. imgaug's ``SomeOf((0, 5))`` has no albumentations
    equivalent: here each of the seven is applied with p=2.5/7, the same expected count (2.5), and
    in a fixed rather than random order. Their local distortion (``PiecewiseAffine``, scale 0.01-0.05,
    very slow) is a ``GridDistortion`` of a 4x4 grid here, and their random border modes and fill
    values of the affine change are a zero fill; their pixel jitter (``ElasticTransformation``,
    alpha 0.5-3.5, sigma 0.25) has alpha 2 and sigma 1, albumentations' smallest."""
    each = 2.5 / 7
    return [
        A.HorizontalFlip(p=0.3),
        A.VerticalFlip(p=0.3),
        A.CropAndPad(percent=(-0.05, 0.0), p=0.5),
        A.Affine(scale=(0.8, 1.2), translate_percent=(-0.2, 0.2), rotate=(-10, 10), shear=(-5, 5), p=0.5),
        A.Sharpen(alpha=(0.0, 1.0), lightness=(0.75, 1.25), p=each),
        A.GridDistortion(num_steps=4, distort_limit=0.1, p=each / 2),
        A.RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=0.25, p=each),
        A.OneOf([A.GaussianBlur(sigma_limit=(0.1, 3.0)), A.Blur(blur_limit=(3, 7)), A.MedianBlur(blur_limit=(3, 11))],
                p=each),
        A.GaussNoise(std_range=(0.0, 0.05), p=each),
        A.OneOf([A.PixelDropout(dropout_prob=0.05),
                 A.CoarseDropout(num_holes_range=(1, 16), hole_height_range=(0.08, 0.2), hole_width_range=(0.08, 0.2))],
                p=each),
        A.ElasticTransform(alpha=2.0, sigma=1.0, p=each / 2),
    ]


# Recipes of published work, reproduced as they ran (see the module docstring).
SEED_PRESETS = {"awesome_bus": _awesome_bus, "cmunext": _cmunext, "ccf_bdci_2021": _ccf_bdci_2021}
PRESETS = ("none", "light", "standard", "strong", *SEED_PRESETS)


def _transforms(preset: str, elastic: bool) -> list[A.BasicTransform]:
    if preset not in PRESETS:
        raise ValueError(f"augmentation preset must be one of {PRESETS}, got {preset!r}")
    if preset in SEED_PRESETS:
        steps = SEED_PRESETS[preset]()
    elif preset == "none":
        steps: list[A.BasicTransform] = []
    elif preset == "light":
        steps = [A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(0.1, 0.1, p=0.5)]
    else:
        strong = preset == "strong"
        steps = [
            A.HorizontalFlip(p=0.5),
            A.Affine(scale=(0.8, 1.2) if strong else (0.9, 1.1), translate_percent=(-0.08, 0.08) if strong else
                     (-0.05, 0.05), rotate=(-15, 15) if strong else (-10, 10), p=0.7 if strong else 0.5),
            A.RandomBrightnessContrast(0.25 if strong else 0.15, 0.25 if strong else 0.15, p=0.5),
            A.MultiplicativeNoise(multiplier=(0.8, 1.2) if strong else (0.9, 1.1), elementwise=True, p=0.3),
        ]
    if elastic:
        steps.append(A.ElasticTransform(alpha=30, sigma=6, p=0.3))
    return steps


def _every_transform(transform: A.BasicTransform | A.BaseCompose) -> list[A.BasicTransform | A.BaseCompose]:
    """``transform`` and every transform inside it, each composition before its children."""
    return [transform, *(t for child in getattr(transform, "transforms", []) for t in _every_transform(child))]


class PairAugmentation:
    """Applies a preset to an (image, mask) pair with a given seed."""

    def __init__(self, preset: str = "standard", elastic: bool = False) -> None:
        self.preset, self.elastic = preset, elastic
        self.compose = A.Compose(_transforms(preset, elastic), seed=0)
        self.transforms = _every_transform(self.compose)

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        # albumentations 2 hands every transform of a composition the composition's seed, so their
        # first random draws coincide: reseeded per sample, two flips of p=0.5 would always fire
        # together. Each transform gets a seed of its own instead, set after its composition's.
        own_seeds = np.random.SeedSequence(seed).generate_state(len(self.transforms))
        for transform, own_seed in zip(self.transforms, own_seeds):
            transform.set_random_seed(int(own_seed))
        out = self.compose(image=image, mask=mask)
        return out["image"], out["mask"]
