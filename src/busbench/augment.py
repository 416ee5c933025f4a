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

``nnunet`` is nnU-Net v2's default training augmentation (nnUNetTrainer) with its probabilities,
for the ``nnunet_2d`` preset. Where it differs:

* rotation +-30 deg (nnU-Net's 3-D range) instead of its 2-D +-180 deg, and mirroring along the
  lateral (horizontal) axis only: B-mode images have an anatomical up and down;
* nnU-Net applies blur and low resolution to each channel with probability 0.5 after choosing the
  transform, so for one channel the probabilities here are the products (0.1, 0.125);
* images are uint8 here, not z-scored: Gaussian noise of standard deviation up to 0.1 of the
  image's becomes up to 0.02 of the range (BUSI's median image standard deviation is 0.20 of the
  range), and brightness saturates at 255;
* gamma is drawn as nnU-Net does (below or above 1 with equal chance) but does not restore the
  image's mean and standard deviation afterwards.

Each sample is augmented with its own seed (from the run seed, the epoch and the sample index),
so an epoch is the same whichever worker loads which sample, and a resumed run sees exactly the
augmentations an uninterrupted run would have seen.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2
import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # never reach the network at import
import albumentations as A  # noqa: E402

from busbench.registry import Registry

# train.augmentation's choices, in the schema's order: busbench's own, nnU-Net's, then the seeds' recipes
PRESETS: Registry[Callable[[], list[A.BasicTransform]]] = Registry("train.augmentation")
register_augmentation = PRESETS.register


@register_augmentation("none")
def _none() -> list[A.BasicTransform]:
    return []


@register_augmentation("light")
def _light() -> list[A.BasicTransform]:
    return [A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(0.1, 0.1, p=0.5)]


def _flip_affine_gain_speckle(strong: bool) -> list[A.BasicTransform]:
    return [
        A.HorizontalFlip(p=0.5),
        A.Affine(scale=(0.8, 1.2) if strong else (0.9, 1.1), translate_percent=(-0.08, 0.08) if strong else
                 (-0.05, 0.05), rotate=(-15, 15) if strong else (-10, 10), p=0.7 if strong else 0.5),
        A.RandomBrightnessContrast(0.25 if strong else 0.15, 0.25 if strong else 0.15, p=0.5),
        A.MultiplicativeNoise(multiplier=(0.8, 1.2) if strong else (0.9, 1.1), elementwise=True, p=0.3),
    ]


@register_augmentation("standard")
def _standard() -> list[A.BasicTransform]:
    return _flip_affine_gain_speckle(strong=False)


@register_augmentation("strong")
def _strong() -> list[A.BasicTransform]:
    return _flip_affine_gain_speckle(strong=True)


class ContrastAroundMean(A.ImageOnlyTransform):
    """nnU-Net's contrast: scale the distance to the image mean, then clip to the image's own range."""

    def __init__(self, low: float = 0.75, high: float = 1.25, p: float = 0.5) -> None:
        super().__init__(p=p)
        self.low, self.high = low, high

    def get_params(self) -> dict[str, float]:
        below = self.py_random.random() < 0.5  # nnU-Net's BGContrast: below or above 1, equally likely
        return {"factor": self.py_random.uniform(self.low, 1.0) if below else self.py_random.uniform(1.0, self.high)}

    def apply(self, img: np.ndarray, factor: float = 1.0, **params: object) -> np.ndarray:
        mean = img.mean()
        out = np.clip((img.astype(np.float32) - mean) * factor + mean, img.min(), img.max())
        rounded: np.ndarray = np.rint(out).astype(img.dtype)
        return rounded


def _gamma(p: float) -> A.BasicTransform:
    """Gamma 0.7-1.5, below or above 1 with equal chance (nnU-Net's BGContrast)."""
    return A.OneOf([A.RandomGamma((70, 100), p=1.0), A.RandomGamma((100, 150), p=1.0)], p=p)


@register_augmentation("nnunet")
def nnunet_transforms() -> list[A.BasicTransform]:
    """nnU-Net's default augmentation, in its order (see the module docstring for the differences)."""
    return [
        A.Affine(rotate=(-30, 30), p=0.2),
        A.Affine(scale=(0.7, 1.4), p=0.2),
        A.GaussNoise(std_range=(0.0, 0.02), p=0.1),
        A.GaussianBlur(sigma_limit=(0.5, 1.0), p=0.1),
        A.MultiplicativeNoise(multiplier=(0.75, 1.25), p=0.15),
        ContrastAroundMean(0.75, 1.25, p=0.15),
        A.Downscale(scale_range=(0.5, 1.0), interpolation_pair={"downscale": cv2.INTER_NEAREST,
                                                                "upscale": cv2.INTER_CUBIC}, p=0.125),
        A.Sequential([A.InvertImg(p=1.0), _gamma(1.0), A.InvertImg(p=1.0)], p=0.1),
        _gamma(0.3),
        A.HorizontalFlip(p=0.5),
    ]


@register_augmentation("awesome_bus")
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


@register_augmentation("cmunext")
def _cmunext() -> list[A.BasicTransform]:
    """CMUNeXt, main.py: ``RandomRotate90()`` then ``Flip()`` (albumentations 1.x defaults, p=0.5
    each). ``Flip`` chose a horizontal, a vertical or both flips with equal chance; it no longer
    exists in albumentations 2, so it is spelt out. They resize after these; busbench augments the
    resized square, which gives the same images for these transforms."""
    both = A.Sequential([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0)], p=1.0)
    return [A.RandomRotate90(p=0.5), A.OneOf([A.HorizontalFlip(p=1.0), A.VerticalFlip(p=1.0), both], p=0.5)]


@register_augmentation("ccf_bdci_2021")
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


def _transforms(preset: str, elastic: bool) -> list[A.BasicTransform]:
    steps = PRESETS.get(preset)()
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
