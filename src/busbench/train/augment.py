"""Augmentation presets for ultrasound, built with albumentations.

Only horizontal flips: depth runs top to bottom in a B-mode image, and posterior shadowing lies
below a lesion, so a vertical flip would make anatomically impossible images. Affine changes are
small (probe pressure and position), brightness/contrast imitate gain settings, and multiplicative
per-pixel noise imitates speckle. Elastic deformation is an option on any preset.

Each sample is augmented with its own seed (from the run seed, the epoch and the sample index),
so an epoch is the same whichever worker loads which sample, and a resumed run sees exactly the
augmentations an uninterrupted run would have seen.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # never reach the network at import
import albumentations as A  # noqa: E402

PRESETS = ("none", "light", "standard", "strong")


def _transforms(preset: str, elastic: bool) -> list[A.BasicTransform]:
    if preset not in PRESETS:
        raise ValueError(f"augmentation preset must be one of {PRESETS}, got {preset!r}")
    if preset == "none":
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


def seed_each_transform(compose: A.BaseCompose, seed: int) -> None:
    """Give every transform (nested ones too) its own random stream derived from ``seed``.

    albumentations' ``set_random_seed`` hands the same seed to every transform, so their draws
    coincide: two transforms of probability 0.5 would always fire together, never one alone.
    """
    nodes: list[A.BasicTransform | A.BaseCompose] = [compose]
    for index, node in enumerate(nodes):  # parents first: seeding a compose re-seeds its children
        node.set_random_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))
        nodes.extend(getattr(node, "transforms", []))


class PairAugmentation:
    """Applies a preset to an (image, mask) pair with a given seed."""

    def __init__(self, preset: str = "standard", elastic: bool = False) -> None:
        self.preset, self.elastic = preset, elastic
        self.compose = A.Compose(_transforms(preset, elastic), seed=0)

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        seed_each_transform(self.compose, seed)
        out = self.compose(image=image, mask=mask)
        return out["image"], out["mask"]
