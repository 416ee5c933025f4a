"""`busbench prepare`: dataset layout -> checked, hashed manifest.

Every case an adapter lists is decoded here once; whatever is wrong with it is either fixed (and
logged) or the case is dropped (and logged), never silently passed on:

* unreadable image or mask file: dropped;
* an image narrower or lower than ``MIN_SIDE`` pixels, which the duplicate search of ``split``
  cannot read (ORB's image pyramid): dropped;
* no mask file: dropped (adapters log masks that have no image);
* several masks of different sizes: dropped; otherwise the lesion is their union;
* non-binary mask: thresholded at 128 of 255 (fixed, see ``busbench.data.io``);
* image and mask of different sizes: if their aspect ratios agree within 2 %, the image is
  resized to the mask when it is loaded (fixed; masks are the reference geometry because the
  metrics are computed on them), otherwise dropped: another aspect ratio means another crop, and
  stretching would misplace the lesion;
* a normal label with a lesion in its mask, or a lesion label with an empty mask: dropped;
* 16-bit images: one scale to 8 bits for the whole dataset, from the largest value over it (12-bit
  data in 16-bit PNGs is read as 0..4095), logged and recorded (column ``white_level``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from busbench.data.adapters import build_adapter
from busbench.data.adapters.base import CaseSource
from busbench.data.content.fingerprint import image_thumbnail, lesion_box, mask_sha256
from busbench.data.duplicates.hashing import perceptual_hash, pixel_sha256
from busbench.data.duplicates.keypoints import MIN_SIDE
from busbench.data.integrity import MTIMES, file_columns, modification_times
from busbench.data.io import IntensityScale, UnreadableImageError, intensity_scale, read_image, read_mask
from busbench.data.labels import LESION, NORMAL
from busbench.data.manifest import MANIFEST_META, META_PREFIX, write_manifest
from busbench.data.problems import ProblemLog
from busbench.data.root_link import ROOT_AS_GIVEN, as_given
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_csv
from busbench.log import counted, logger
from busbench.progress import progress
from busbench.version import __version__

ASPECT_TOLERANCE = 0.02
PROBLEMS_CSV = "prepare_problems.csv"
SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class PrepareResult:
    manifest_path: Path
    frame: pd.DataFrame
    log: ProblemLog


def _union_mask(source: CaseSource, root: Path, log: ProblemLog) -> np.ndarray | None:
    if not source.masks:
        log.drop(root / source.image, "image without mask: no mask file found for it")
        return None
    union: np.ndarray | None = None
    for rel in source.masks:
        try:
            decoded = read_mask(root / rel)
        except UnreadableImageError as exc:
            log.drop(root / rel, f"unreadable mask: {exc}")
            return None
        if decoded.threshold is not None:
            log.fix(root / rel, f"non-binary mask: thresholded at {decoded.threshold} of 255")
        if union is not None and union.shape != decoded.lesion.shape:
            log.drop(
                root / rel,
                f"mask size mismatch: {decoded.lesion.shape[::-1]} differs from the other masks of "
                f"{source.image} {union.shape[::-1]} (width, height)",
            )
            return None
        union = decoded.lesion if union is None else union | decoded.lesion
    return union


def _check_geometry(source: CaseSource, root: Path, image_shape: tuple[int, int],
                    mask_shape: tuple[int, int], log: ProblemLog) -> bool | None:
    """True: image must be resized to the mask; False: same size; None: unusable, dropped."""
    if image_shape == mask_shape:
        return False
    (ih, iw), (mh, mw) = image_shape, mask_shape
    sizes = f"image {iw}x{ih} vs mask {mw}x{mh} (width x height)"
    if abs((iw / ih) / (mw / mh) - 1.0) <= ASPECT_TOLERANCE:
        log.fix(root / source.image, f"size mismatch: {sizes}; image resized to the mask when loaded")
        return True
    log.drop(root / source.image, f"size mismatch: {sizes} with different aspect ratios (another crop), so "
             "the mask cannot be mapped onto the image; for a published dataset report this exclusion with "
             "your results, for your own data export the image at the mask's geometry")
    return None


def _resolve_label(source: CaseSource, root: Path, has_lesion: bool, log: ProblemLog) -> str | None:
    if source.label is None:
        return LESION if has_lesion else NORMAL
    if source.label == NORMAL and has_lesion:
        log.drop(root / source.masks[0], "label/mask conflict: labelled normal but its mask has a lesion")
        return None
    if source.label != NORMAL and not has_lesion:
        log.drop(root / source.masks[0], f"label/mask conflict: labelled {source.label} but its mask is empty")
        return None
    return source.label


def _case_row(source: CaseSource, root: Path, dataset: str, scale: IntensityScale,
              log: ProblemLog) -> dict[str, object] | None:
    try:
        grey = read_image(root / source.image, white=scale.white)
    except UnreadableImageError as exc:
        log.drop(root / source.image, f"unreadable image: {exc}")
        return None
    if min(grey.shape) < MIN_SIDE:
        log.drop(root / source.image, f"image too small: {grey.shape[1]}x{grey.shape[0]} px (width x height); "
                 f"the duplicate search needs at least {MIN_SIDE} px a side: re-export the image at its full size")
        return None
    lesion = _union_mask(source, root, log)
    if lesion is None:
        return None
    resize = _check_geometry(source, root, grey.shape, lesion.shape, log)
    if resize is None:
        return None
    label = _resolve_label(source, root, bool(lesion.any()), log)
    if label is None:
        return None
    row: dict[str, object] = {
        "case_id": source.case_id,
        "dataset": dataset,
        "label": label,
        "patient_id": source.patient_id or "",
        "image_path": source.image.as_posix(),
        "mask_paths": json.dumps([m.as_posix() for m in source.masks]),
        "width": lesion.shape[1],
        "height": lesion.shape[0],
        "lesion_area_fraction": float(lesion.mean()),
        "pixel_sha256": pixel_sha256(grey),
        "phash": perceptual_hash(grey),
        "mask_sha256": mask_sha256(lesion),
        "thumbnail": image_thumbnail(grey),
        "lesion_box": lesion_box(lesion),
        "image_resized_to_mask": resize,
        "official_fold": source.official_fold,
        "white_level": scale.white,
        **file_columns(root, [source.image.as_posix(), *(m.as_posix() for m in source.masks)]),
    }
    row.update({f"{META_PREFIX}{key}": value for key, value in source.meta.items()})
    return row


def _check_out_dir(root: Path, out_dir: Path, dataset: str) -> None:
    """Refuse an output folder inside the dataset, or one holding another dataset's manifest (whose splits and
    cache would then describe images that are no longer there); the same dataset may be prepared again."""
    root_r, out_r = root.resolve(), out_dir.resolve()
    if out_r == root_r or root_r in out_r.parents:
        raise BusbenchError(
            f"--out {out_dir} is inside the dataset folder {root}; busbench never writes into a "
            "dataset: choose an output folder outside it"
        )
    meta = out_dir / MANIFEST_META
    try:
        before = json.loads(meta.read_text()).get("dataset") if meta.is_file() else None
    except (OSError, ValueError, AttributeError):
        before = None  # unreadable: prepared again below, as a damaged manifest should be
    if before is not None and before != dataset:
        raise BusbenchError(f"--out {out_dir} holds the manifest of dataset {before!r} (with its splits and cache); "
                            f"prepare {dataset} into another folder, or delete {out_dir} first")


def prepare_dataset(name: str, root: Path, out_dir: Path, options: dict[str, object] | None = None) -> PrepareResult:
    """Read dataset ``name`` at ``root`` and write its manifest and problem log into ``out_dir``."""
    adapter = build_adapter(name, options)
    dataset = adapter.dataset_name
    root, out_dir = Path(root), Path(out_dir)
    _check_out_dir(root, out_dir, dataset)
    log = ProblemLog()
    out_dir.mkdir(parents=True, exist_ok=True)
    problems_csv = out_dir / PROBLEMS_CSV
    try:
        sources = adapter.discover(root, log)
    finally:  # a failed prepare always leaves its problem file, even if a layout error stopped it early
        write_csv(log.to_frame(), problems_csv, float_format=None)
    scale = intensity_scale([root / source.image for source in sources])
    if scale.maximum is not None:
        logger.info(f"{dataset}: {scale.describe()}")
    seen: set[str] = set()
    rows = []
    for source in progress(sources, f"Reading {dataset}", total=len(sources)):
        if source.case_id in seen:
            log.drop(root / source.image, f"duplicate case id: {source.case_id!r} is listed twice")
            continue
        seen.add(source.case_id)
        row = _case_row(source, root, dataset, scale, log)
        if row is not None:
            rows.append(row)
    write_csv(log.to_frame(), problems_csv, float_format=None)
    if not rows:
        first = "".join(f"\n  {p.action}: {p.file}: {p.reason}" for p in log.problems[:SHOWN_PROBLEMS])
        raise BusbenchError(
            f"{root}: no usable {dataset} cases found ({counted(len(log.problems), 'problem')}, all in "
            f"{problems_csv}); "
            f"{adapter.layout_hint}" + (f"\nFirst problems:{first}" if first else "")
        )
    frame = pd.DataFrame(rows)
    meta = {
        "dataset": dataset,
        "adapter": name,
        "root": str(root.resolve()),
        ROOT_AS_GIVEN: as_given(root),
        "options": adapter.options.model_dump(mode="json"),
        "busbench_version": __version__,
        "dropped": sum(p.action == "dropped" for p in log.problems),
        "fixed": sum(p.action == "fixed" for p in log.problems),
        MTIMES: modification_times(root, frame),
        "intensity": scale.describe(),
    }
    manifest_path = write_manifest(frame, out_dir, meta)
    return PrepareResult(manifest_path, frame, log)
