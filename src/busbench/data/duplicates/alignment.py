"""Aligned correlation: do two images show one scene after the best shift and zoom?

Consecutive frames of one lesion under small probe motion change the speckle, so few keypoints
match, but the anatomy still lines up. Both images are blurred (speckle off), shrunk to a short
side of ``THUMBNAIL_SIDE`` pixels, and the centre of each (``CENTRE`` of its height and width) is
slid over the other at scales 0.8-1.25; the value is the best normalised cross-correlation.
Overlay pixels are filled beforehand, so a shared frame or marker does not correlate.

Each centre must have texture (a standard deviation of at least ``MIN_TEXTURE`` grey levels): a
centre lying in a flat area (a black border, a filled overlay) is flat up to rounding after the
blur, and OpenCV's normalised match of a template of (near) zero norm is 1.0 at every position,
which linked unrelated scans with large black areas. A flat window of the other image is harmless:
the match is 0 there. Every BUSI and BUS-BRA centre has a standard deviation of 9.9 or more.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMBNAIL_SIDE = 48
CENTRE = 0.7
_BLUR_SIGMA = 1.5  # pixels of the image, before shrinking: takes the speckle off
_SCALES = (0.8, 0.9, 1.0, 1.12, 1.25)
MIN_TEXTURE = 2.0  # grey levels of standard deviation of a centre


def thumbnail(filled: np.ndarray) -> np.ndarray:
    """Blurred float32 thumbnail with short side ``THUMBNAIL_SIDE`` of an overlay-filled image."""
    h, w = filled.shape
    factor = THUMBNAIL_SIDE / min(h, w)
    size = (max(THUMBNAIL_SIDE, round(w * factor)), max(THUMBNAIL_SIDE, round(h * factor)))
    return cv2.resize(cv2.GaussianBlur(filled, (0, 0), _BLUR_SIGMA), size, interpolation=cv2.INTER_AREA)


def _centre_in(a: np.ndarray, b: np.ndarray) -> float:
    h, w = a.shape
    ch, cw = int(h * CENTRE), int(w * CENTRE)
    centre = a[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
    best = -1.0
    for scale in _SCALES:
        template = cv2.resize(centre, (round(cw * scale), round(ch * scale)), interpolation=cv2.INTER_AREA)
        if template.shape[0] <= b.shape[0] and template.shape[1] <= b.shape[1] and template.std() >= MIN_TEXTURE:
            best = max(best, float(cv2.matchTemplate(b, template, cv2.TM_CCOEFF_NORMED).max()))
    return best


def aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation of either thumbnail's centre within the other (-1 .. 1)."""
    return max(_centre_in(a, b), _centre_in(b, a))
