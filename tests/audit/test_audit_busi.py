"""The audit on the real BUSI copy: its known identical pair and the overlay detector's accuracy
against labels made by looking at the images (overlay_labels.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.audit.duplicates_view import duplicate_view
from busbench.audit.overlays import detect_overlays
from busbench.data.io import read_image
from busbench.data.manifest import Manifest

LABELS = Path(__file__).with_name("overlay_labels.csv")


def test_busi_identical_pair_with_two_labels_is_a_conflict(busi_manifest: Manifest) -> None:
    conflicts = duplicate_view(busi_manifest).conflicts
    pair = conflicts[(conflicts["case_a"] == "benign (433)") & (conflicts["case_b"] == "malignant (145)")]
    assert pair[["label_a", "label_b", "measure"]].values.tolist() == [["benign", "malignant", "identical pixels"]]


def test_overlay_flags_agree_with_labels_made_by_eye(busi_manifest: Manifest) -> None:
    truth = pd.read_csv(LABELS).set_index("case_id")
    rows = busi_manifest.frame.set_index("case_id", drop=False).loc[truth.index]
    found = [detect_overlays(read_image(busi_manifest.image_file(row), 3)) for _, row in rows.iterrows()]
    marks = pd.Series([f.marks for f in found], index=truth.index)
    doppler = pd.Series([f.doppler for f in found], index=truth.index)
    assert (marks == truth["marks"].astype(bool)).mean() >= 0.90  # 92 of 102 when measured
    assert (marks & ~truth["marks"].astype(bool)).sum() <= 2  # false alarms: benign (15), benign (24)
    assert (doppler == truth["doppler"].astype(bool)).all()  # all 6 Doppler images, no false one
