"""Mask and image-geometry findings: the cases whose ground truth or shape a benchmark should
know about before it trusts a score on them.

Rules (each a column of ``masks.csv``):

* ``touches_border``: a lesion pixel in the first or last row or column: the lesion may be cut off,
  and HD95 on it is measured against a truncated outline.
* ``tiny``: a lesion covering less than ``TINY_FRACTION`` (0.5 %) of the image: a few pixels off
  change Dice a lot, so such cases dominate the spread of mean Dice.
* ``components``: 8-connected lesion components; ``multi_component`` when more than one.
* ``size_outlier``: image area below half or above twice the dataset's median area.
* ``aspect_outlier``: width/height more than 25 % away from the dataset's median ratio
  (letterboxing then leaves much of the network input empty).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

TINY_FRACTION = 0.005
SIZE_FACTOR = 2.0
ASPECT_TOLERANCE = 0.25


def lesion_findings(lesion: np.ndarray) -> dict[str, object]:
    """Border contact, area fraction and component count of one boolean lesion mask."""
    edge = lesion[0].any() or lesion[-1].any() or lesion[:, 0].any() or lesion[:, -1].any()
    _, components = ndi.label(lesion, np.ones((3, 3)))
    fraction = float(lesion.mean()) if lesion.size else 0.0
    return {"touches_border": bool(edge), "lesion_fraction": round(fraction, 6),
            "tiny": bool(lesion.any() and fraction < TINY_FRACTION), "components": int(components),
            "multi_component": components > 1}


def geometry_outliers(frame: pd.DataFrame) -> pd.DataFrame:
    """Per case: width, height, aspect ratio and whether its size or aspect is an outlier."""
    width, height = frame["width"].astype(float), frame["height"].astype(float)
    aspect = width / height
    area = width * height
    median_area, median_aspect = float(area.median()), float(aspect.median())
    return pd.DataFrame({
        "case_id": frame["case_id"], "width": frame["width"].astype(int), "height": frame["height"].astype(int),
        "aspect": aspect.round(4),
        "size_outlier": (area < median_area / SIZE_FACTOR) | (area > median_area * SIZE_FACTOR),
        "aspect_outlier": (aspect / median_aspect - 1).abs() > ASPECT_TOLERANCE,
    })
