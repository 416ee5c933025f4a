"""How far resampling moves a lesion box, and how far editing a mask does (sets ``masks_agree``'s tolerance).

Every lesion of a dataset folder (its mask files, several of one image as their union) is resampled as
copies are: nearest neighbour (OpenCV's corner-aligned and centre-aligned, PIL's) or interpolated (area,
bilinear, bicubic, Lanczos, box) and thresholded at half, to 0.5x, 0.75x, 0.9x, one pixel smaller or larger
on the long side, 1.01x, 1.5x and 2x; and "apart": a nearest-neighbour copy at 0.5x or 0.75x (a registry made
from a resampled copy) against every other copy at 0.6x or 0.9x. Then dishonest copies: the mask dilated or
eroded by 1-3 px, replaced by its fitted ellipse, by the ellipse of its moments or by its box, shifted by
2-3 px, at the copy's grid (after a nearest-neighbour resampling) or at the original's (before it). Printed
per kind of copy: how far the box moved in pixels of the coarser grid (the largest edge, the centre, the
area in rows and columns of the box, each beyond the rounding of ``lesion_box``), largest and 99th
percentile, and the share ``masks_agree`` accepts (docs/registry.md).

    python benchmarks/mask_tolerance.py ../shared/data/Dataset_BUSI_with_GT
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from busbench.data.content.fingerprint import box_values, lesion_box
from busbench.data.content.matching import masks_agree
from busbench.data.io import read_mask

Resample = Callable[[np.ndarray, tuple[int, int]], np.ndarray]
Edit = Callable[[np.ndarray], np.ndarray]
ROUNDING = 1e-4
_CASE = re.compile(r"_mask(_\d+)?$|^mask_")  # a mask file's stem less this is its image's


def _cv2(interpolation: int) -> Resample:
    return lambda m, size: cv2.resize(m.astype(np.uint8) * 255, size, interpolation=interpolation) >= 128


def _pil(method: Image.Resampling) -> Resample:
    return lambda m, size: np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(size, method)) >= 128


RESAMPLERS: dict[str, Resample] = {
    "nearest": _cv2(cv2.INTER_NEAREST), "nearest exact": _cv2(cv2.INTER_NEAREST_EXACT),
    "PIL nearest": _pil(Image.Resampling.NEAREST), "area": _cv2(cv2.INTER_AREA), "linear": _cv2(cv2.INTER_LINEAR),
    "cubic": _cv2(cv2.INTER_CUBIC), "PIL bilinear": _pil(Image.Resampling.BILINEAR),
    "PIL box": _pil(Image.Resampling.BOX), "PIL Lanczos": _pil(Image.Resampling.LANCZOS),
}
SCALES = ("0.5", "0.75", "0.9", "-1 px", "+1 px", "1.01", "1.5", "2")
APART = {"0.5": ("0.6", "0.9"), "0.75": ("0.6", "0.9")}  # registry scale: the copies' scales


def grown(lesion: np.ndarray, px: int) -> np.ndarray:
    """The lesion dilated by ``px`` pixels (a disk), eroded for a negative ``px``: a mask redrawn wider or tighter."""
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(px) + 1, 2 * abs(px) + 1))
    morph = cv2.dilate if px > 0 else cv2.erode
    return np.asarray(morph(lesion.astype(np.uint8), disk) > 0)


def fitted_ellipse(lesion: np.ndarray) -> np.ndarray:
    """The ellipse fitted to the lesion's outline, filled (an ellipse annotation)."""
    contours, _ = cv2.findContours(lesion.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    drawn = np.zeros(lesion.shape, np.uint8)
    cv2.ellipse(drawn, cv2.fitEllipse(np.concatenate(contours)), 1, -1)
    return drawn > 0


def moments_ellipse(lesion: np.ndarray) -> np.ndarray:
    """The ellipse of the lesion's area, centroid and second moments."""
    mo = cv2.moments(lesion.astype(np.uint8), binaryImage=True)
    values, vectors = np.linalg.eigh(np.array([[mo["mu20"], mo["mu11"]], [mo["mu11"], mo["mu02"]]]) / mo["m00"])
    axes = 4 * np.sqrt(np.maximum(values, 1e-9))
    angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])))
    drawn = np.zeros(lesion.shape, np.uint8)
    cv2.ellipse(drawn, ((mo["m10"] / mo["m00"], mo["m01"] / mo["m00"]), (axes[1], axes[0]), angle), 1, -1)
    return drawn > 0


def shifted(lesion: np.ndarray, right: int, down: int = 0) -> np.ndarray:
    """The lesion moved (what leaves the image is lost)."""
    moved = np.zeros_like(lesion)
    moved[down:, right:] = lesion[:lesion.shape[0] - down, :lesion.shape[1] - right]
    return moved


def boxed(lesion: np.ndarray) -> np.ndarray:
    """The lesion's bounding box filled (a box annotation)."""
    rows, cols = np.flatnonzero(lesion.any(axis=1)), np.flatnonzero(lesion.any(axis=0))
    box = np.zeros_like(lesion)
    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    return box


EDITS: dict[str, Edit] = {
    **{f"dilated {px} px": partial(grown, px=px) for px in (1, 2, 3)},
    **{f"eroded {px} px": partial(grown, px=-px) for px in (1, 2, 3)},
    "fitted ellipse": fitted_ellipse, "moments' ellipse": moments_ellipse, "box": boxed,
    "shifted 2 px": partial(shifted, right=2), "shifted 2 px, 2 px": partial(shifted, right=2, down=2),
    "shifted 3 px": partial(shifted, right=3), "shifted 3 px down": partial(shifted, right=0, down=3),
}


def copy_size(lesion: np.ndarray, scale: str) -> tuple[int, int]:
    """(width, height) of a copy at ``scale``: a factor ("0.75"), or pixels more or fewer on the long side ("-1 px")."""
    height, width = lesion.shape
    factor = (max(height, width) + int(scale.split()[0])) / max(height, width) if " px" in scale else float(scale)
    return round(width * factor), round(height * factor)


def _moves(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, bool]:
    """Edge, centre and area moves (coarser grid's pixels; area in rows and columns of the box) and agreement."""
    box_a, box_b = lesion_box(a), lesion_box(b)
    agree = masks_agree(box_a, box_b, (a.shape[1], a.shape[0]), (b.shape[1], b.shape[0]))
    va, vb = box_values(box_a), box_values(box_b)
    if va is None or vb is None:
        return np.inf, np.inf, np.inf, agree
    side = np.array([min(a.shape[1], b.shape[1]), min(a.shape[0], b.shape[0])] * 2, dtype=float)
    edge = float((np.maximum(np.abs(va[:4] - vb[:4]) - ROUNDING, 0) * side).max())
    centre = float((np.maximum(np.abs(va[:2] + va[2:4] - vb[:2] - vb[2:4]) / 2 - ROUNDING, 0) * side[:2]).max())
    box_px = np.maximum(va[2:4] - va[:2], vb[2:4] - vb[:2]) * side[:2]
    area = max(abs(va[4] - vb[4]) - ROUNDING, 0) * side[0] * side[1] / box_px.sum()
    return edge, centre, area, agree


def _lesions(folder: Path) -> dict[str, np.ndarray]:
    """Each image's lesion: its mask files (BUSI's ``x_mask_1.png``, BUS-BRA's ``mask_x.png``) as one union."""
    files: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.rglob("*.png")):
        if "mask" in path.name.lower():
            files[f"{path.parent.name}/{_CASE.sub('', path.stem)}"].append(path)
    lesions = {cid: np.logical_or.reduce([read_mask(p).lesion for p in paths]) for cid, paths in files.items()}
    return {cid: lesion for cid, lesion in lesions.items() if lesion.any()}


def _rows(lesion: np.ndarray) -> list[tuple[str, float, float, float, bool]]:
    rows = []
    for scale in SCALES:
        size = copy_size(lesion, scale)
        rows += [("honest", *_moves(lesion, resample(lesion, size))) for resample in RESAMPLERS.values()]
        copy = RESAMPLERS["nearest exact"](lesion, size)
        for name, edit in EDITS.items():
            rows.append((f"{name}, copy's grid", *_moves(lesion, edit(copy))))
            edited = edit(lesion)
            rows.append((f"{name}, original's grid", *_moves(lesion, RESAMPLERS["nearest exact"](edited, size))))
    for registry_scale, copy_scales in APART.items():
        for registry_way in ("nearest", "PIL nearest"):
            registry = RESAMPLERS[registry_way](lesion, copy_size(lesion, registry_scale))
            rows += [("honest, resampled apart", *_moves(registry, resample(lesion, copy_size(lesion, scale))))
                     for scale in copy_scales for resample in RESAMPLERS.values()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a dataset folder (mask files have 'mask' in their names)")
    args = parser.parse_args()
    lesions = _lesions(args.folder)
    frame = pd.DataFrame([row for lesion in lesions.values() for row in _rows(lesion)],
                         columns=["copy", "edge", "centre", "area", "agree"])
    print(f"{len(lesions)} lesions in {args.folder}; moves in pixels of the coarser grid (area: in rows and "
          "columns of the box), largest / 99th percentile")
    for copy, group in frame.groupby("copy", sort=False):
        cells = " ".join(f"{name} {group[name].max():6.2f} / {group[name].quantile(0.99):5.2f}"
                         for name in ("edge", "centre", "area"))
        print(f"{copy:40s} {len(group):6d} {cells}  accepted {100 * group['agree'].mean():5.1f} %")


if __name__ == "__main__":
    main()
