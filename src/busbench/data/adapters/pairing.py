"""Finding image files and matching masks to images by file name, shared by the adapters."""

from __future__ import annotations

import re
from pathlib import Path

from busbench.data.problems import ProblemLog

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


def image_files(folder: Path, log: ProblemLog) -> list[Path]:
    """Image files directly in ``folder``, sorted; other non-hidden files are logged as dropped."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES:
            found.append(path)
        else:
            log.drop(path, "not an image file: skipped (expected one of " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")
    return found


def mask_stem_pattern(suffix: str) -> re.Pattern[str]:
    """Matches a mask's stem ``<image stem><suffix>`` or ``<image stem><suffix>_<n>`` (extra masks)."""
    if not suffix:
        return re.compile(r"^(?P<stem>.+)$")
    return re.compile(rf"^(?P<stem>.+?){re.escape(suffix)}(?:_\d+)?$")


def pair_masks(images: list[Path], masks: list[Path], suffix: str, log: ProblemLog) -> dict[Path, list[Path]]:
    """Map each image to its masks (sorted); masks without an image are logged as dropped."""
    by_stem = {img.stem: img for img in images}
    pattern = mask_stem_pattern(suffix)
    paired: dict[Path, list[Path]] = {img: [] for img in images}
    for mask in masks:
        match = pattern.match(mask.stem)
        image = by_stem.get(match.group("stem")) if match else None
        if image is None:
            log.drop(mask, "mask without image: no image file has this mask's name")
        else:
            paired[image].append(mask)
    return {img: sorted(found) for img, found in paired.items()}
