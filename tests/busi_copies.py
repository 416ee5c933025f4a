"""Altered copies of real BUSI, as users hold them: renamed into a folder dataset, re-encoded,
down- or up-scaled. Each writer returns the copy's root and, for every case it wrote, the BUSI
case it came from (the ground truth that content matching must find)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

Image = np.ndarray
MASK = re.compile(r"^(?P<case>.+)_mask(_\d+)?$")


def busi_cases(root: Path) -> dict[str, tuple[Path, list[Path]]]:
    """BUSI case id -> (image file, mask files), read from its folders here, not by the adapter."""
    cases: dict[str, tuple[Path, list[Path]]] = {}
    for label in ("benign", "malignant", "normal"):
        files = sorted((root / label).glob("*.png"))
        for image in (f for f in files if not MASK.match(f.stem)):
            masks = sorted(f for f in files if (m := MASK.match(f.stem)) and m["case"] == image.stem)
            cases[image.stem] = (image, masks)
    return cases


def _read(path: Path) -> Image:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _grey(path: Path) -> Image:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def busi_layout_copy(root: Path, out: Path, image_op: Callable[[Image], Image], mask_op: Callable[[Image], Image],
                     image_suffix: str = ".png", params: tuple[int, ...] = ()) -> dict[str, str]:
    """BUSI's own layout with every image and mask transformed; names kept."""
    made = {}
    for case, (image, masks) in busi_cases(root).items():
        folder = out / image.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{case}{image_suffix}"), image_op(_read(image)), list(params))
        for mask in masks:
            cv2.imwrite(str(folder / mask.name), mask_op(_read(mask)))
        made[case] = case
    return made


def renamed_folder_copy(root: Path, out: Path, seed: int = 7) -> dict[str, str]:
    """A folder dataset (images/case_NNNN.png, masks/case_NNNN.png, several masks merged into one),
    numbered in a shuffled order so no name says what the case was."""
    cases = busi_cases(root)
    order = np.random.default_rng(seed).permutation(len(cases))
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    made = {}
    for number, (case, (image, masks)) in zip(order, cases.items()):
        name = f"case_{number:04d}"
        (out / "images" / f"{name}.png").write_bytes(image.read_bytes())
        union = np.zeros_like(_grey(masks[0]))
        for mask in masks:  # a few BUSI masks are RGBA
            union = np.maximum(union, _grey(mask))
        cv2.imwrite(str(out / "masks" / f"{name}.png"), union)
        made[name] = case
    return made


def half(image: Image) -> Image:
    return cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)


def half_mask(mask: Image) -> Image:
    return cv2.resize(mask, (mask.shape[1] // 2, mask.shape[0] // 2), interpolation=cv2.INTER_NEAREST)


def enlarge(image: Image) -> Image:
    """2.3x larger: a stand-in for the full-size originals users hold."""
    return cv2.resize(image, (round(image.shape[1] * 2.3), round(image.shape[0] * 2.3)), interpolation=cv2.INTER_CUBIC)


def enlarge_mask(mask: Image) -> Image:
    return cv2.resize(mask, (round(mask.shape[1] * 2.3), round(mask.shape[0] * 2.3)), interpolation=cv2.INTER_NEAREST)


def same(image: Image) -> Image:
    return image
