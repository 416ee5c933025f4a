"""Matching two sets of cases by content (``fingerprint``): a user's copy of a dataset against a
registry (``busbench split --registry``, ``busbench verify``), or reviewed pairs against any
manifest holding those images.

Cases are paired one to one: first by identical pixels (same image at the same resolution, any
encoding), then the rest by their thumbnails' correlation, among cases of the same aspect ratio,
with an optimal assignment (Hungarian) that prefers the same name where two candidates are equally
close. Measured by ``benchmarks/fingerprint_margin.py`` on BUSI and BUS-BRA (each image against
itself 2.3x larger, half size, JPEG quality 50-60): a copy correlates at 0.986 or more with its
original and the assignment pairs every case right, while two images of the two datasets never
exceed 0.951 and two BUS-BRA images 0.966: hence ``MATCH_CORRELATION``. Near-duplicate frames of
one lesion (0.998 apart) are told apart by the assignment, and share a leakage group in any case.

A mask at another resolution cannot be compared by its hash: ``masks_agree`` compares lesion boxes, in
pixels of the coarser of the two grids. Resampling moves a boundary by up to one such pixel (``_GRID_PX``)
and may lose a thin spur at one edge (``_SPUR_PX``): each edge may move 4 px, the box's centre 2.5 px (a spur
moves one edge only), the area one row and one column of the box (what a nearest-neighbour copy a pixel
smaller drops). On every BUSI and BUS-BRA lesion resampled as copies are (nearest neighbour, or interpolated
and thresholded at half; 0.5x to 2x; two copies resampled apart from one original),
``benchmarks/mask_tolerance.py`` found at most an edge 2.96 px (BUS-BRA ``bus_0622-r``, a 1-px-thin spur),
the centre 1.93 px and the area 0.86 rows and columns. Of masks dilated or eroded by 2-3 px it refuses
99.9 % or more, of boxes 98 %, of fitted ellipses 46 % and of 3-px shifts 70 %; what passes is within
resampling's noise: a 1-px dilation or erosion (17 % pass: those made at a grid 1.3x finer or more, a
fraction of a coarse pixel, and some a pixel apart), a 2-px shift, the ellipse of a lesion that nearly is one.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from busbench.data.content.fingerprint import box_values, thumbnail_values

MATCH_CORRELATION = 0.98
ASPECT_TOLERANCE = 0.03
_SAME_NAME_PREFERENCE = 0.003  # within this correlation, a candidate of the same name wins
_GRID_PX = 1.0  # resampling moves a lesion's boundary by up to a pixel of the coarser grid...
_SPUR_PX = 3.0  # ...and may lose a 1-px-thin spur this long at one edge of its box
_ROUNDING = 1e-4  # two lesion_box values, each rounded to 4 decimals
_UNMATCHED = 10.0
EXACT = "exact"
TOLERANT = "tolerant"
MATCH_COLUMNS = ["query_id", "reference_id", "level", "correlation"]
FINGERPRINT_COLUMNS = ("case_id", "pixel_sha256", "width", "height", "thumbnail")


def _exact_matches(reference: pd.DataFrame, query: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of identical pixels; where one image is several cases, same names pair first."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for case_id, pixels in zip(reference["case_id"], reference["pixel_sha256"]):
        by_hash[pixels].append(case_id)
    wanted: dict[str, list[str]] = defaultdict(list)
    for case_id, pixels in zip(query["case_id"], query["pixel_sha256"]):
        if pixels in by_hash:
            wanted[pixels].append(case_id)
    pairs = []
    for pixels, queries in wanted.items():
        references = sorted(by_hash[pixels])
        same = sorted(set(queries) & set(references))
        rest_q = sorted(set(queries) - set(same))
        rest_r = [r for r in references if r not in same]
        pairs += [(c, c) for c in same] + list(zip(rest_q, rest_r))
    return pairs


def _unit_thumbnails(frame: pd.DataFrame) -> np.ndarray:
    values = np.array([thumbnail_values(code) for code in frame["thumbnail"]]).reshape(len(frame), -1)
    values -= values.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    unit: np.ndarray = values / np.where(norms > 0, norms, 1.0)
    return unit


def _aspect(frame: pd.DataFrame) -> np.ndarray:
    ratio: np.ndarray = frame["width"].to_numpy(dtype=float) / frame["height"].to_numpy(dtype=float)
    return ratio


def thumbnail_correlation(query: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Pearson correlation of every query thumbnail with every reference one (query x reference)."""
    if query.empty or reference.empty:
        return np.zeros((len(query), len(reference)))
    result: np.ndarray = _unit_thumbnails(query) @ _unit_thumbnails(reference).T
    return result


def _tolerant_matches(reference: pd.DataFrame, query: pd.DataFrame) -> list[tuple[str, str, float]]:
    if reference.empty or query.empty:
        return []
    correlation = thumbnail_correlation(query, reference)
    aspect_q, aspect_r = _aspect(query), _aspect(reference)
    fits = np.abs(aspect_q[:, None] / aspect_r[None, :] - 1.0) <= ASPECT_TOLERANCE
    fits &= correlation >= MATCH_CORRELATION
    same_name = query["case_id"].to_numpy()[:, None] == reference["case_id"].to_numpy()[None, :]
    cost = np.where(fits, -(correlation + _SAME_NAME_PREFERENCE * same_name), _UNMATCHED)
    rows, cols = linear_sum_assignment(cost)
    q_ids, r_ids = query["case_id"].tolist(), reference["case_id"].tolist()
    return [(q_ids[r], r_ids[c], float(correlation[r, c])) for r, c in zip(rows, cols) if fits[r, c]]


def match_cases(reference: pd.DataFrame, query: pd.DataFrame, tolerant: bool = True) -> pd.DataFrame:
    """One row per paired case: query_id, reference_id, level (exact | tolerant), correlation.

    Both frames need ``FINGERPRINT_COLUMNS``; cases of either side left out have no pair. Without
    ``tolerant``, identical pixels only: ``case_id`` and ``pixel_sha256`` suffice (a manifest older than
    the thumbnails).
    """
    exact = _exact_matches(reference, query)
    # A surplus copy of an image both sides hold (a file duplicated, one of two identical cases dropped) is
    # that image, not a resampled copy of a near-duplicate: it takes no part in the tolerant pairing.
    shared = set(reference["pixel_sha256"]) & set(query["pixel_sha256"])
    tolerant_pairs = _tolerant_matches(reference[~reference["pixel_sha256"].isin(shared)].reset_index(drop=True),
                                       query[~query["pixel_sha256"].isin(shared)].reset_index(drop=True)
                                       ) if tolerant else []
    rows = [(q, r, EXACT, 1.0) for q, r in exact] + [(q, r, TOLERANT, c) for q, r, c in tolerant_pairs]
    return pd.DataFrame(rows, columns=MATCH_COLUMNS).sort_values("query_id", ignore_index=True)


def same_mask(reference: pd.Series, query: pd.Series) -> bool:
    """Whether two manifest rows whose images matched hold one mask: the same mask pixels at one size, lesion
    boxes that agree (``masks_agree``) across two resolutions."""
    reference_size = int(reference["width"]), int(reference["height"])
    query_size = int(query["width"]), int(query["height"])
    if reference_size == query_size:
        return bool(reference["mask_sha256"] == query["mask_sha256"])
    return masks_agree(str(reference["lesion_box"]), str(query["lesion_box"]), reference_size, query_size)


def masks_agree(reference_box: str, query_box: str, reference_size: tuple[int, int],
                query_size: tuple[int, int]) -> bool:
    """Whether two lesion boxes (``fingerprint.lesion_box``) of masks of these sizes (width, height) are one
    mask resampled (the module's docstring says why): in pixels of the coarser grid, each edge within 4 px,
    the box's centre within 2.5 px, the area within one row and one column of the box; two empty masks agree."""
    ref, other = box_values(reference_box), box_values(query_box)
    if ref is None or other is None:
        return ref is None and other is None
    width, height = min(reference_size[0], query_size[0]), min(reference_size[1], query_size[1])
    side = np.array([width, height, width, height], dtype=float)
    edges_close = np.all(np.abs(ref[:4] - other[:4]) <= (_GRID_PX + _SPUR_PX) / side + _ROUNDING)
    centre_shift = np.abs(ref[:2] + ref[2:4] - other[:2] - other[2:4]) / 2
    centre_close = np.all(centre_shift <= (_GRID_PX + _SPUR_PX / 2) / side[:2] + _ROUNDING)
    box_px = np.maximum(ref[2:4] - ref[:2], other[2:4] - other[:2]) * side[:2]  # the larger box's width, height
    area_close = abs(ref[4] - other[4]) * width * height <= _GRID_PX * box_px.sum() + _ROUNDING * width * height
    return bool(edges_close and centre_close and area_close)
