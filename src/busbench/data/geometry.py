"""How an image is placed into the square network input, and how predictions go back.

``letterbox`` scales the longer side to the target size and pads the other symmetrically with
zeros (aspect ratio kept); ``resize`` stretches to the square. The placement is stored per case
so that predictions can be mapped back to the original image, where metrics are computed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from busbench.data.choices import RESIZE_MODES, ResizeMode

# The largest network input side. Published breast-ultrasound models train at 224-512 px and the
# scans themselves are rarely over 1000 px, so 4096 px leaves room for any real use, while one
# 4096-px RGB image is already 50 MB in the cache; 100000 px would ask OpenCV for 30 GB per image.
MAX_SIZE = 4096
# The smallest: the smallest side a model here takes (CMUNeXt, UNet++: 16 px, 4 down-samplings to 1 px).
MIN_SIZE = 16


@dataclass(frozen=True)
class Placement:
    """The original size and the rectangle (top, left, inner_h, inner_w) it occupies in the square."""

    orig_h: int
    orig_w: int
    top: int
    left: int
    inner_h: int
    inner_w: int
    size: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def placement_for(h: int, w: int, size: int, mode: ResizeMode) -> Placement:
    if mode == "resize":
        return Placement(h, w, 0, 0, size, size, size)
    if mode != "letterbox":  # a Python caller's typo; settings are checked against ResizeMode when read
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    scale = size / max(h, w)
    inner_h, inner_w = max(1, round(h * scale)), max(1, round(w * scale))
    return Placement(h, w, (size - inner_h) // 2, (size - inner_w) // 2, inner_h, inner_w, size)


def _resize(arr: np.ndarray, h: int, w: int) -> np.ndarray:
    shrinking = h * w < arr.shape[0] * arr.shape[1]
    return cv2.resize(arr, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def place_image(image: np.ndarray, p: Placement) -> np.ndarray:
    """uint8 image (H, W) or (H, W, C) -> (size, size[, C]) with zero padding."""
    out = np.zeros((p.size, p.size) + image.shape[2:], dtype=np.uint8)
    out[p.top:p.top + p.inner_h, p.left:p.left + p.inner_w] = _resize(image, p.inner_h, p.inner_w)
    return out


def place_mask(mask: np.ndarray, p: Placement) -> np.ndarray:
    """bool mask -> uint8 0/1 (size, size): area-weighted resampling then a 0.5 threshold."""
    inner = _resize(mask.astype(np.float32), p.inner_h, p.inner_w) >= 0.5
    out = np.zeros((p.size, p.size), dtype=np.uint8)
    out[p.top:p.top + p.inner_h, p.left:p.left + p.inner_w] = inner
    return out


def to_original(prediction: np.ndarray, p: Placement) -> np.ndarray:
    """A (size, size) probability map -> float32 (orig_h, orig_w), padding cropped away."""
    inner = prediction[p.top:p.top + p.inner_h, p.left:p.left + p.inner_w].astype(np.float32)
    return _resize(inner, p.orig_h, p.orig_w)
