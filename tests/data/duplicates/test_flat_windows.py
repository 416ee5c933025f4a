"""Aligned correlation needs texture in each image's centre: a centre inside a flat area (a black
border, a filled overlay) is flat up to rounding, and OpenCV's normalised match of such a template
is 1.0 everywhere.

The pair below is built to link on that alone: two unrelated scans whose large flat areas make
their perceptual hashes close enough to be checked, with no shared anatomy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from busbench.data.duplicates import alignment
from busbench.data.duplicates.alignment import CENTRE, aligned_correlation, thumbnail
from busbench.data.duplicates.candidates import bits_apart, hash_values
from busbench.data.duplicates.hashing import perceptual_hash
from busbench.data.duplicates.links import CORRELATION, DuplicateSettings, duplicate_links
from busbench.data.synthetic import generate_cases
from tests.data.duplicates.test_duplicates import _manifest


def _flat_pair() -> dict[str, np.ndarray]:
    """Two unrelated 200 x 160 scans: black over the left 70 % of one, dark grey over the left 95 %
    of the other."""
    scans = [case.image for case in generate_cases(8, 200, seed=5, near_duplicate_rate=0.0)]
    first, second = scans[6].copy(), scans[7].copy()
    first[:, :140] = 0
    second[:, :190] = 20
    return {"first": first, "second": second}


def _thumbnails() -> list[np.ndarray]:
    return [thumbnail(image.astype(np.float32)) for image in _flat_pair().values()]


def test_the_pair_is_checked_by_its_hash_and_one_centre_is_flat() -> None:
    first, second = _flat_pair().values()
    distance = int(bits_apart(*hash_values([perceptual_hash(first), perceptual_hash(second)])))
    assert distance <= DuplicateSettings().near_duplicate_distance
    second = _thumbnails()[1]
    h, w = second.shape
    centre = second[round(h * (1 - CENTRE) / 2):round(h * (1 + CENTRE) / 2),
                    round(w * (1 - CENTRE) / 2):round(w * (1 + CENTRE) / 2)]
    assert centre.std() < 1e-3 < alignment.MIN_TEXTURE  # shrunk to 0.8, its std is 4e-7: more than zero


def test_a_pair_with_a_flat_centre_does_not_link(tmp_path: Path) -> None:
    assert aligned_correlation(*_thumbnails()) < DuplicateSettings().near_duplicate_correlation
    assert duplicate_links(_manifest(tmp_path, _flat_pair()), DuplicateSettings()).empty


def test_without_the_texture_guard_the_flat_centre_links_the_pair(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard the previous test relies on: without it the flat centre matches everywhere."""
    monkeypatch.setattr(alignment, "MIN_TEXTURE", 1e-12)
    assert aligned_correlation(*_thumbnails()) >= DuplicateSettings().near_duplicate_correlation
    links = duplicate_links(_manifest(tmp_path, _flat_pair()), DuplicateSettings())
    assert links[["case_a", "case_b", "measure"]].values.tolist() == [["first", "second", CORRELATION]]
