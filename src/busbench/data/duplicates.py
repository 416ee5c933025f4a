"""Exact and near-duplicate images: the pairs that must stay on one side of every split.

A link is a pair of case ids with the measure that linked them and its value, so a group can be
explained (``busbench split`` warnings, ``busbench audit`` contact sheets). Links are found within
one manifest (for the split) or between two sets of images (a model's training images and a test
set: ``model.init_from`` and ``eval.cross_datasets``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from busbench.data.hashing import NEAR_DUPLICATE_DISTANCE, hamming_matrix
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError

LINK_COLUMNS = ["case_a", "case_b", "measure", "value"]
IDENTICAL = "identical pixels"


@dataclass(frozen=True)
class DuplicateSettings:
    """How near-duplicates are found; every field is also a ``split.<field>`` config key."""

    near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE

    def check(self) -> None:
        if not 0 <= self.near_duplicate_distance <= 64:
            raise BusbenchError(
                f"split.near_duplicate_distance must be 0..64 bits, got {self.near_duplicate_distance}")


def _links(ids: list[str], pixels: list[str], phashes: list[str], settings: DuplicateSettings,
           split_at: int | None = None) -> pd.DataFrame:
    """Linked pairs i < j; with ``split_at``, only pairs with i < split_at <= j."""
    if len(ids) < 2:
        return pd.DataFrame(columns=LINK_COLUMNS)
    _, pixel_code = np.unique(np.asarray(pixels), return_inverse=True)
    identical = pixel_code[:, None] == pixel_code[None, :]
    distance = hamming_matrix(phashes)
    linked = identical | (distance <= settings.near_duplicate_distance)
    keep = np.triu(linked, k=1)
    if split_at is not None:
        keep[split_at:, :] = False
        keep[:, :split_at] = False
    i, j = np.nonzero(keep)
    same = identical[i, j]
    return pd.DataFrame({"case_a": np.asarray(ids, dtype=object)[i], "case_b": np.asarray(ids, dtype=object)[j],
                         "measure": np.where(same, IDENTICAL, "phash bits"),
                         "value": np.where(same, 0.0, distance[i, j].astype(float))}, columns=LINK_COLUMNS)


def duplicate_links(manifest: Manifest, settings: DuplicateSettings) -> pd.DataFrame:
    """Every linked pair of images of ``manifest`` (columns ``LINK_COLUMNS``, case_a < case_b)."""
    settings.check()
    frame = manifest.frame
    return _links(frame["case_id"].tolist(), frame["pixel_sha256"].tolist(), frame["phash"].tolist(), settings)


def cross_duplicate_links(first: Manifest, first_ids: list[str], second: Manifest, second_ids: list[str],
                          settings: DuplicateSettings) -> pd.DataFrame:
    """Links between images ``first_ids`` of ``first`` (column case_a) and ``second_ids`` of
    ``second`` (column case_b); the two manifests may be the same or different datasets."""
    settings.check()
    a = first.frame.set_index("case_id").loc[list(first_ids)]
    b = second.frame.set_index("case_id").loc[list(second_ids)]
    n = len(a)
    return _links(list(a.index) + list(b.index), a["pixel_sha256"].tolist() + b["pixel_sha256"].tolist(),
                  a["phash"].tolist() + b["phash"].tolist(), settings, split_at=n)
