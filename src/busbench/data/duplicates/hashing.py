"""Exact and perceptual image hashes, used to keep copies of one image on one side of a split.

* ``pixel_sha256`` hashes the decoded grey pixels and the shape, so the same picture saved in
  another PNG mode or with other metadata still matches (BUSI ``malignant (145).png`` and
  ``benign (433).png`` are such a pair).
* ``perceptual_hash`` is the DCT hash (pHash): grey image area-resized to 32x32, 2-D DCT-II,
  the 8x8 lowest frequencies without the DC term compared with their median, 64 bits. A hash alone
  cannot tell near-duplicates (BUSI re-crops differ by 14-18 bits, unrelated BUS-BRA scans of one
  device by 10), so ``busbench.data.duplicates`` only uses it to pick which pairs to check further:
  those within ``NEAR_DUPLICATE_DISTANCE`` bits.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from scipy.fft import dctn

# Labelled BUSI pairs: consecutive frames of one lesion lie at 6-22 bits. Distances are even (every
# hash has 31 set bits).
NEAR_DUPLICATE_DISTANCE = 22
_HASH_GRID = 32
_HASH_BITS_SIDE = 8


def pixel_sha256(grey: np.ndarray) -> str:
    """SHA-256 of a uint8 image's pixels and shape (file bytes and metadata do not count)."""
    digest = hashlib.sha256()
    digest.update(repr(grey.shape).encode())
    digest.update(np.ascontiguousarray(grey, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def perceptual_hash(grey: np.ndarray) -> str:
    """64-bit DCT perceptual hash of a grey image, as 16 hex digits."""
    small = cv2.resize(grey.astype(np.float32), (_HASH_GRID, _HASH_GRID), interpolation=cv2.INTER_AREA)
    low = dctn(small, type=2, norm="ortho")[:_HASH_BITS_SIDE, :_HASH_BITS_SIDE].ravel()
    bits = low > np.median(low[1:])
    bits[0] = False  # the DC term says only how bright the image is
    return f"{int(np.packbits(bits).view('>u8')[0]):016x}"
