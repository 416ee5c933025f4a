"""Finding image files and matching masks to images by file name, shared by the adapters."""

from __future__ import annotations

import re
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


def _image_of(mask: Path, candidates: list[Path]) -> Path | None:
    """The image a mask belongs to among the images of its stem: a stray ``case.tif`` beside
    ``case.png`` must not take ``case_mask.png``, so the image in the mask's format comes first."""
    same_format = [image for image in candidates if image.suffix.lower() == mask.suffix.lower()]
    chosen = same_format or candidates
    return chosen[0] if chosen else None


def pair_masks(images: list[Path], masks: list[Path], suffix: str, log: ProblemLog,
               allow_mask_gaps: bool = False) -> dict[Path, list[Path]]:
    """Map each image to its masks (sorted); masks without an image are logged as dropped.

    An image whose mask series has a gap is dropped (logged) unless ``allow_mask_gaps``, when it is
    kept with the masks present (logged as fixed).
    """
    by_stem: dict[str, list[Path]] = {}
    for img in images:
        by_stem.setdefault(img.stem, []).append(img)
    pattern = mask_stem_pattern(suffix)
    paired: dict[Path, list[Path]] = {img: [] for img in images}
    for mask in masks:
        match = pattern.match(mask.stem)
        image = _image_of(mask, by_stem.get(match.group("stem"), [])) if match else None
        if image is None:
            log.drop(mask, "mask without image: no image file has this mask's name")
        else:
            paired[image].append(mask)
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
