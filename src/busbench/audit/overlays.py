"""Burnt-in overlays: calipers, markers and text, and colour Doppler.

Scanners draw graphics into the pixels that a network then learns from; a caliper cross on the
lesion border is a shortcut to the answer. The detector works at a fixed working scale (longer
side ``WORK_SIDE`` px, as the shipped BUSI copies) so its size limits mean the same on any image:

* **marks** (calipers, text, boxes): small bright blobs (grey >= ``MARK_BRIGHT``, at most
  ``MARK_MAX_AREA`` px and ``MARK_MAX_SIDE`` px across) standing ``MARK_CONTRAST`` grey levels above
  the median of a 2-px ring around them. Bright tissue (skin lines, reflectors) is large or fades
  into its surroundings; graphics are small with a sharp step. An image has marks when it has at
  least ``MARK_MIN_BLOBS`` such blobs, or at least ``COLOUR_MARK_PIXELS`` yellow pixels (coloured
  calipers and boxes). A band of ``MARGIN`` of the shorter side is ignored: scanners put a small
  logo in the corner of nearly every BUSI image.
* **colour Doppler**: at least ``DOPPLER_PIXELS`` pixels of chroma (max - min channel) >= ``CHROMA``
  that are not yellow (red, orange or blue flow), read in RGB.

Validated on 102 BUSI images labelled by eye (tests/audit/overlay_labels.csv): 23 flagged, 21 of
them right (precision 0.91), 21 of 29 marked images found (recall 0.72). On other devices bright
tissue echoes pass as marks: on one outside dataset 470 images were flagged where its own
annotation lists 152 with calipers (precision at most 0.32). The flag is a list to look through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

WORK_SIDE = 256
MARGIN = 0.04
MARK_BRIGHT = 200
MARK_CONTRAST = 100
MARK_MAX_AREA = 60
MARK_MAX_SIDE = 20
MARK_MIN_BLOBS = 3
CHROMA = 60
COLOUR_MARK_PIXELS = 20
DOPPLER_PIXELS = 8
TOUCH_DISTANCE = 2  # px at the working scale: overlay pixels this close to the lesion touch it
MARKS_PRECISION = ("on 102 BUSI images labelled by eye 21 of the 23 flagged had marks (21 of 29 found); on another "
                   "device bright tissue echoes were flagged too (470 flagged, 152 annotated)")


@dataclass(frozen=True)
class OverlayFinding:
    """What one image shows, and the overlay pixels at the image's own size."""

    mark_blobs: int
    yellow_pixels: int
    doppler_pixels: int
    overlay: np.ndarray  # bool (H, W): marks and colour pixels

    @property
    def marks(self) -> bool:
        return self.mark_blobs >= MARK_MIN_BLOBS or self.yellow_pixels >= COLOUR_MARK_PIXELS

    @property
    def doppler(self) -> bool:
        return self.doppler_pixels >= DOPPLER_PIXELS


def _working(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = WORK_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX), dtype=np.int16)


def _bright_blobs(grey: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Pixels of the small, sharply bright blobs inside ``inner``."""
    labels, _ = ndi.label((grey >= MARK_BRIGHT) & inner, np.ones((3, 3)))
    found = np.zeros(grey.shape, dtype=bool)
    h, w = grey.shape
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        y0, y1 = max(box[0].start - 3, 0), min(box[0].stop + 3, h)
        x0, x1 = max(box[1].start - 3, 0), min(box[1].stop + 3, w)
        blob = labels[y0:y1, x0:x1] == index
        if blob.sum() > MARK_MAX_AREA or max(box[0].stop - box[0].start, box[1].stop - box[1].start) > MARK_MAX_SIDE:
            continue
        ring = ndi.binary_dilation(blob, iterations=2) & ~blob
        patch = grey[y0:y1, x0:x1]
        if patch[blob].mean() - np.median(patch[ring]) >= MARK_CONTRAST:
            found[y0:y1, x0:x1] |= blob
    return found


def detect_overlays(rgb: np.ndarray) -> OverlayFinding:
    """Find marks and colour Doppler in an (H, W, 3) uint8 image."""
    work = _working(rgb)
    h, w = work.shape[:2]
    margin = int(MARGIN * min(h, w))
    inner = np.zeros((h, w), dtype=bool)
    inner[margin:h - margin, margin:w - margin] = True
    grey = np.rint(work @ np.array([0.299, 0.587, 0.114])).astype(np.int16)
    blobs = _bright_blobs(grey, inner)
    chroma = work.max(axis=2) - work.min(axis=2)
    coloured = (chroma >= CHROMA) & inner
    red, green, blue = work[..., 0], work[..., 1], work[..., 2]
    yellow = coloured & (blue == work.min(axis=2)) & (np.abs(red - green) < chroma // 2)
    labels, count = ndi.label(blobs, np.ones((3, 3)))
    overlay = np.asarray(Image.fromarray((blobs | coloured).astype(np.uint8) * 255).resize(
        (rgb.shape[1], rgb.shape[0]), Image.Resampling.NEAREST)) > 0
    return OverlayFinding(count, int(yellow.sum()), int((coloured & ~yellow).sum()), overlay)


def touches_lesion(finding: OverlayFinding, lesion: np.ndarray) -> bool:
    """Whether overlay pixels lie inside the lesion or within ``TOUCH_DISTANCE`` working px of it."""
    if not lesion.any() or not finding.overlay.any():
        return False
    reach = max(1, round(TOUCH_DISTANCE * max(lesion.shape) / WORK_SIDE))
    return bool((ndi.binary_dilation(lesion, iterations=reach) & finding.overlay).any())
