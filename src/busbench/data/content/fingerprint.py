"""A case's content fingerprint, at two levels, so that two copies of a dataset can be matched
case by case whatever their file names (``busbench.data.content.matching``).

* exact: ``pixel_sha256`` of the decoded grey image (``duplicates.hashing``) and ``mask_sha256`` of
  its lesion mask; a PNG re-saved with other compression or metadata keeps both;
* tolerant: ``thumbnail``, the image area-averaged to 16x16, stretched to its own range and kept at
  16 grey levels (128 bytes, base64), plus the image's aspect ratio; and ``lesion_box``, the
  lesion's bounding box and area as fractions of the image. A copy downscaled, upscaled or
  re-encoded as JPEG keeps them within the tolerances of ``matching``, which distinct BUSI and
  BUS-BRA images do not reach (``benchmarks/fingerprint_margin.py``).
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

from busbench.data.duplicates.hashing import pixel_sha256

THUMBNAIL_SIDE = 16
_LEVELS = 16


def image_thumbnail(grey: np.ndarray) -> str:
    """The tolerant fingerprint of a grey uint8 image: 16x16 area means on 16 levels, base64."""
    small = cv2.resize(grey.astype(np.float32), (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
    low, high = float(small.min()), float(small.max())
    # less than one grey level of range is flat (area means of a flat image differ by rounding only)
    scaled = (small - low) / (high - low) if high - low >= 1.0 else np.zeros_like(small)
    levels = np.clip(np.rint(scaled * (_LEVELS - 1)), 0, _LEVELS - 1).astype(np.uint8).ravel()
    packed = (levels[0::2] << 4) | levels[1::2]
    return base64.b64encode(packed.tobytes()).decode("ascii")


def thumbnail_values(code: str) -> np.ndarray:
    """A thumbnail code back as 256 floats in 0..1 (row-major 16x16)."""
    packed = np.frombuffer(base64.b64decode(code), dtype=np.uint8)
    levels = np.empty(packed.size * 2, dtype=np.float64)
    levels[0::2], levels[1::2] = packed >> 4, packed & 0x0F
    return levels / (_LEVELS - 1)


def mask_sha256(lesion: np.ndarray) -> str:
    """SHA-256 of a lesion mask's pixels and shape (any mask encoding gives the same)."""
    return pixel_sha256(lesion.astype(np.uint8))


def lesion_box(lesion: np.ndarray) -> str:
    """``"x0 y0 x1 y1 area"`` as fractions of the image (4 decimals); ``""`` for an empty mask."""
    if not lesion.any():
        return ""
    rows, cols = np.flatnonzero(lesion.any(axis=1)), np.flatnonzero(lesion.any(axis=0))
    height, width = lesion.shape
    values = (cols[0] / width, rows[0] / height, (cols[-1] + 1) / width, (rows[-1] + 1) / height, lesion.mean())
    return " ".join(f"{value:.4f}" for value in values)


def box_values(box: str) -> np.ndarray | None:
    """A ``lesion_box`` back as five floats; None for an empty mask."""
    return np.array([float(v) for v in box.split()]) if box else None
