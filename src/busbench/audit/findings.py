"""What an audit found in one dataset, and the counts at the top of its page, each with what it
means for a benchmark. Its own module so that the audit's steps and its page share it without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from busbench.audit.duplicates_view import DuplicateView
from busbench.audit.masks import TINY_FRACTION
from busbench.audit.overlays import MARKS_PRECISION
from busbench.data.manifest import Manifest


@dataclass
class Audit:
    """Every finding of one dataset; each table is also written as a CSV."""

    manifest: Manifest
    out: Path
    duplicates: DuplicateView
    overlays: pd.DataFrame
    masks: pd.DataFrame
    balance: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per finding: finding, count, meaning."""
        dup, ov, masks = self.duplicates, self.overlays, self.masks
        rows = [
            ("duplicate groups", dup.groups["group"].nunique(),
             f"{dup.linked_images} images have an exact or near copy (a duplicate link; {len(dup.groups)} with the "
             "same-patient views joined to them); `busbench split` keeps each group on one side, and the dataset "
             "holds fewer distinct images than its count"),
            ("patient-only groups", dup.patient_only_groups,
             "several views of one patient with no duplicate link: not duplicates, but also kept together"),
            ("label conflicts", len(dup.conflicts),
             "one image (exact or near copy) under two labels: no model can be right on both"),
            ("mask conflicts", len(dup.mask_conflicts),
             "identical pixels with two different masks: one of the two ground truths is wrong"),
            ("images flagged for calipers, markers or text", int(ov["marks"].sum()),
             "graphics burnt into the pixels can become shortcuts a model learns instead of the anatomy. A screening "
             "list, not a count: " + MARKS_PRECISION),
            ("  of them touching the lesion", int((ov["marks"] & ov["touches_lesion"]).sum()),
             "markers on the lesion outline point at the answer"),
            ("images with colour Doppler", int(ov["doppler"].sum()),
             "a different image type; colour flow marks vascular lesions"),
            ("masks touching the image border", int(masks["touches_border"].sum()),
             "the lesion may be cut off; boundary metrics on it are less meaningful"),
            (f"tiny lesions (< {TINY_FRACTION:.1%} of the image)", int(masks["tiny"].sum()),
             "a few pixels change Dice a lot: these cases dominate its spread"),
            ("multi-component masks", int(masks["multi_component"].sum()),
             "several lesions or a fragmented outline; post-processing that keeps one component loses them"),
            ("image size outliers", int(masks["size_outlier"].sum()),
             "area below half or above twice the median: resizing changes their scale most"),
            ("aspect-ratio outliers", int(masks["aspect_outlier"].sum()),
             "width/height > 25 % from the median: letterboxing leaves much of the input empty"),
            ("split files checked for balance", len(self.balance),
             "counts per class and lesion size in the test set and each fold"),
        ]
        return pd.DataFrame(rows, columns=["finding", "count", "meaning"])
