"""Finding image files and matching masks to images by file name, shared by the adapters."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from busbench.data.manifest import natural_key
from busbench.data.problems import ProblemLog

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})


def natural_path_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Natural sort key of a path, extension left out so ``a_seg.png`` precedes ``a_seg2.png``."""
    return natural_key(path.with_suffix("").as_posix())


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def log_non_image(path: Path, log: ProblemLog) -> None:
    log.drop(path, "not an image file: skipped (expected one of " + ", ".join(sorted(IMAGE_SUFFIXES)) + ")")


def log_unknown_folders(base: Path, known: tuple[str, ...], log: ProblemLog, kind: str = "class folder") -> None:
    """Log every non-hidden sub-folder of ``base`` that is not one of the ``known`` folders the layout
    reads: a renamed or extra class folder would otherwise vanish from the dataset unnoticed."""
    for entry in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in known and not p.name.startswith(".")):
        log.drop(entry, f"unknown {kind}: not one of {', '.join(known)}; its files are skipped")


def image_files(folder: Path, log: ProblemLog) -> list[Path]:
    """Image files directly in ``folder``, sorted; other non-hidden files and sub-folders are logged
    as dropped (a sub-folder is not searched)."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            log.drop(path, "sub-folder: not searched, its files are skipped (move them up, or pair by pattern: "
                     "-o image_regex=... -o mask_regex=... matches whole paths)")
            continue
        if is_image_file(path):
            found.append(path)
        else:
            log_non_image(path, log)
    return found


def mask_stem_pattern(suffix: str) -> re.Pattern[str]:
    """Matches a mask's stem ``<image stem><suffix>`` or ``<image stem><suffix>_<n>`` (extra masks)."""
    if not suffix:
        return re.compile(r"^(?P<stem>.+)$")
    return re.compile(rf"^(?P<stem>.+?){re.escape(suffix)}(?:_(?P<number>\d+))?$")


def series_gap(masks: list[Path], suffix: str) -> list[str]:
    """Mask names missing from a series ``<stem><suffix>``, ``<stem><suffix>_1``, ``_2``, ...

    A series with a gap is a mask file lost in copying: the union of the rest is part of the lesion.
    """
    if not suffix or not masks:
        return []
    pattern = mask_stem_pattern(suffix)
    numbers = set()
    stem = ""
    for mask in masks:
        match = pattern.match(mask.stem)
        if match:
            stem = match.group("stem")
            numbers.add(int(match.group("number") or 0))
    expected = range(max(numbers) + 1)
    return [f"{stem}{suffix}" + (f"_{n}" if n else "") for n in expected if n not in numbers]


def by_name(files: list[Path], name: Callable[[Path], str]) -> dict[str, list[Path]]:
    """``files`` grouped by ``name`` (a stem, or a part of it), in their order."""
    grouped: dict[str, list[Path]] = {}
    for path in files:
        grouped.setdefault(name(path), []).append(path)
    return grouped


_PREFERENCES = ("its mask has its format", "a PNG is preferred", "the first by path")


def _rank(image: Path, formats: set[str]) -> tuple[bool, bool, str]:
    """Sort key of the images of one name, in the order of ``_PREFERENCES``."""
    return image.suffix.lower() not in formats, image.suffix.lower() != ".png", str(image)


def choose_images(images: dict[str, list[Path]], masks: dict[str, list[Path]], log: ProblemLog) -> dict[str, Path]:
    """One image per name (a stem or case id; ``masks`` holds the mask files of each name): of
    ``case.jpg`` beside ``case.png`` and ``case_mask.png``, the image in its mask's format is kept,
    else the PNG, else the first by path; the others are logged as dropped. Every adapter that
    pairs files by name goes through here, so one rule holds for all."""
    chosen = {}
    for name, candidates in images.items():
        formats = {mask.suffix.lower() for mask in masks.get(name, [])}
        chosen[name] = image = min(candidates, key=lambda path: _rank(path, formats))
        for other in candidates:
            if other != image:
                why = _PREFERENCES[next(i for i, (a, b) in enumerate(zip(_rank(image, formats), _rank(other, formats)))
                                        if a != b)]
                kept = image.name if image.parent == other.parent else str(image)
                log.drop(other, f"another image of this name: {kept} is kept ({why}); rename this file to use "
                         "it as a case of its own")
    return chosen


def pair_masks(images: list[Path], masks: list[Path], suffix: str, log: ProblemLog,
               allow_mask_gaps: bool = False, suffix_option: bool = False) -> dict[Path, list[Path]]:
    """Map each image to its masks (sorted); masks without an image are logged as dropped, with how to
    set the mask suffix where the adapter has that option (``suffix_option``), else that the image is missing.

    An image whose mask series has a gap is dropped (logged) unless ``allow_mask_gaps``, when it is
    kept with the masks present (logged as fixed).
    """
    by_stem = by_name(images, lambda image: image.stem)
    pattern = mask_stem_pattern(suffix)
    masks_of: dict[str, list[Path]] = {}
    for mask in masks:
        match = pattern.match(mask.stem)
        if match and match.group("stem") in by_stem:
            masks_of.setdefault(match.group("stem"), []).append(mask)
        else:
            wanted = match.group("stem") if match else mask.stem
            fix = (f"masks pair as <image name>{suffix}[_N]: set -o mask_suffix=... where yours end otherwise"
                   if suffix_option else "restore the image, or remove the mask")
            log.drop(mask, f"mask without image: no image named {wanted}.* ({fix})")
    chosen = choose_images(by_stem, masks_of, log)
    paired = {chosen[stem]: masks_of.get(stem, []) for stem in by_stem}
    kept = {}
    for image, found in paired.items():
        missing = series_gap(found, suffix)
        if missing and not allow_mask_gaps:
            log.drop(image, f"mask series gap: {', '.join(missing)} missing while "
                     f"{', '.join(m.name for m in sorted(found))} exist; restore the file, or set "
                     "-o allow_mask_gaps=true to keep the case with the masks present")
            continue
        if missing:
            log.fix(image, f"mask series gap: {', '.join(missing)} missing; kept with the masks present "
                    "(allow_mask_gaps=true)")
        kept[image] = sorted(found, key=natural_path_key)
    return kept
