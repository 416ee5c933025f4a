"""Horizontally mirrored copies of real BUSI images, for the labelled evaluation of the detector.

Mirroring is the most common augmentation and a common re-export, so a copy may be a mirror of its
original, or a mirror re-cropped. ``write_busi_with_mirrors`` copies BUSI into a temporary folder
and adds ``MIRRORED`` copies under new numbers (image and mask mirrored together); nothing is
written beside the real data, and nothing generated is committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

CROP = 0.10  # of the width and of the height, taken off the top-left corner
# (original, kind): images outside every reviewed pair, spread over both labels
MIRRORED = [("benign (10)", "mirror"), ("benign (150)", "mirror"), ("benign (250)", "mirror"),
            ("malignant (30)", "mirror"), ("benign (50)", "mirror + crop"), ("benign (350)", "mirror + crop"),
            ("malignant (90)", "mirror + crop")]
FIRST_NUMBER = 1001


def _mirrored(path: Path, crop: bool, out: Path) -> None:
    with Image.open(path) as image:
        mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # keeps the mode (1-bit masks)
        if crop:
            mirrored = mirrored.crop((round(image.width * CROP), round(image.height * CROP), image.width, image.height))
        mirrored.save(out)


def write_busi_with_mirrors(busi: Path, out: Path) -> list[tuple[str, str, str]]:
    """BUSI copied to ``out`` plus its mirrored copies; returns (original, copy, kind) case ids."""
    shutil.copytree(busi, out)
    pairs = []
    for number, (original, kind) in enumerate(MIRRORED, start=FIRST_NUMBER):
        label = original.split(" ")[0]
        copy = f"{label} ({number})"
        for source in sorted((busi / label).glob(f"{original}*.png")):
            suffix = source.name[len(original):]
            _mirrored(source, kind != "mirror", out / label / f"{copy}{suffix}")
        pairs.append((original, copy, kind))
    return pairs
