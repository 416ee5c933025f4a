"""Reading an outside method's prediction files as boolean masks at the original image size.

A prediction is a mask or a probability map, named ``<case id>.png`` or ``<case id>.npy``:

* a **mask** holds two values at most, 0 and the type's top (1 or 255 for 8-bit PNGs, 1 or
  65535 for 16-bit PNGs, 1 or True for ``.npy``): lesion where non-zero, whatever ``--threshold``;
* anything else is a **probability map**, p = value/255 (8-bit PNG), value/65535 (16-bit PNG) or
  the float itself (``.npy``, which must lie in [0, 1]); lesion where p >= ``--threshold``. No
  threshold is assumed: a map read without one is an error, because a silent 0.5 would score a
  method at a threshold its authors may never have used.

A prediction of another size than the original image is an error, unless ``resize`` is set:
nearest-neighbour for masks (no new values), bilinear for probabilities (then thresholded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from busbench.data.io import UnreadableImageError, open_image
from busbench.errors import BusbenchError

PREDICTION_SUFFIXES = (".png", ".npy")


@dataclass(frozen=True)
class ScoredPrediction:
    """A prediction as scored: the mask, and whether it was thresholded or resized to get it."""

    mask: np.ndarray
    thresholded: bool
    resized: bool


def _read_array(path: Path) -> tuple[np.ndarray, float]:
    """The raw values of a prediction file and the value that stands for probability 1."""
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BusbenchError(f"{path}: not a readable .npy array ({exc}); save it with numpy.save") from exc
        if array.dtype == bool:
            return array.astype(np.uint8), 1.0
        if not np.issubdtype(array.dtype, np.number):
            raise BusbenchError(f"{path}: holds {array.dtype} values; save a float probability map in [0, 1]")
        array = array.astype(np.float64)
        if array.size and (not np.isfinite(array).all() or array.min() < 0 or array.max() > 1):
            raise BusbenchError(f"{path}: values outside [0, 1] (or NaN); save probabilities, not logits")
        return array, 1.0
    try:
        image = open_image(path)
    except UnreadableImageError as exc:
        raise BusbenchError(str(exc)) from exc
    if image.mode == "1":
        return np.asarray(image, dtype=np.uint8), 1.0
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(image).astype(np.int64), 65535.0
    if image.mode != "L":
        channels = np.asarray(image.convert("RGB"))
        if not (channels == channels[..., :1]).all():
            raise BusbenchError(f"{path}: a colour PNG ({image.mode}); save predictions as grey PNGs (mode L)")
        return channels[..., 0], 255.0
    return np.asarray(image), 255.0


def _transposed(found: tuple[int, ...], shape: tuple[int, int]) -> bool:
    """Whether a map's aspect ratio is the image's turned (within 1 %) and not the image's own (within 5 %):
    a stretched square prediction, common and fine to resize back, is neither."""
    image, turned, own = shape[0] / shape[1], shape[1] / shape[0], found[0] / found[1]
    return abs(own / turned - 1) < 0.01 and abs(own / image - 1) > 0.05


def read_prediction(path: Path, shape: tuple[int, int], threshold: float | None,
                    resize: bool = False) -> ScoredPrediction:
    """The lesion mask of one prediction file, at ``shape`` (the original image's height, width)."""
    values, top = _read_array(path)
    if values.ndim != 2:
        raise BusbenchError(f"{path}: has shape {values.shape}; save one 2-D map (height x width) per image")
    distinct = set(np.unique(values).tolist())
    # an 8-bit 0/255 mask saved as a 16-bit PNG is a mask too, not a map of probabilities near 0
    binary = distinct <= {0, 1} or distinct <= {0, top} or (top == 65535.0 and distinct <= {0, 255})
    if not binary and threshold is None:
        raise BusbenchError(f"{path}: a probability map (values other than 0 and {top:g}); give --threshold "
                            "(p = value/255 for 8-bit PNGs, value/65535 for 16-bit, the value for .npy)")
    resized = values.shape != shape
    if resized and _transposed(values.shape, shape):
        raise BusbenchError(f"{path}: {values.shape[1]}x{values.shape[0]} px has the original image's "
                            f"({shape[1]}x{shape[0]}) aspect ratio with width and height swapped: a transposed "
                            "array? --resize rescales, it does not turn; save the map as height x width")
    if resized:
        if not resize:
            raise BusbenchError(f"{path}: {values.shape[1]}x{values.shape[0]} px, but the original image is "
                                f"{shape[1]}x{shape[0]}; predict at the original size, or pass --resize (marked "
                                "in the tables)")
        interpolation = cv2.INTER_NEAREST if binary else cv2.INTER_LINEAR
        values = cv2.resize(values.astype(np.float32), (shape[1], shape[0]), interpolation=interpolation)
    if binary:
        return ScoredPrediction(values > 0, thresholded=False, resized=resized)
    assert threshold is not None  # a probability map without one was refused above
    return ScoredPrediction(values / top >= threshold, thresholded=True, resized=resized)
