"""Groups of images that must stay on one side of every split.

Two images are linked when they share a patient, have identical pixels, or have perceptual
hashes within ``max_distance`` bits; a group is a connected component of these links (so a chain
of near-copies is one group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from busbench.data.hashing import near_duplicate_pairs


def _same_value_links(values: list[str]) -> list[tuple[int, int]]:
    """Links each row to the first row with the same value; empty values link nothing."""
    first: dict[str, int] = {}
    links = []
    for i, value in enumerate(values):
        if value:
            j = first.setdefault(value, i)
            if j != i:
                links.append((j, i))
    return links


def leakage_groups(frame: pd.DataFrame, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Group index per manifest row, and whether each row was linked to another as a duplicate.

    ``frame`` needs columns patient_id ("" when unknown), pixel_sha256 and phash.
    """
    n = len(frame)
    patient_links = _same_value_links(frame["patient_id"].astype(str).tolist())
    duplicate_links = _same_value_links(frame["pixel_sha256"].astype(str).tolist())
    duplicate_links += near_duplicate_pairs(frame["phash"].tolist(), max_distance)
    links = patient_links + duplicate_links
    rows = np.array([a for a, _ in links] + list(range(n)), dtype=np.int64)
    cols = np.array([b for _, b in links] + list(range(n)), dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    duplicated = np.zeros(n, dtype=bool)
    duplicated[[i for pair in duplicate_links for i in pair]] = True
    return labels.astype(np.int64), duplicated
