"""The image-level split of published BUS benchmarks, kept to reproduce their numbers.

Awesome-BUS (Jonghwan-dev/Awesome-Segmentation-in-Medical, ``data/prepare_datasets.py``) lists a
dataset's images, holds out a test set with scikit-learn's ``train_test_split`` stratified by the
class label (``test_size`` 0.2, ``random_state`` 42), then deals the remaining rows, in listing
order, into ``StratifiedKFold(5, shuffle=True, random_state=42)`` folds. It ignores patients and
duplicate images, so copies of one image land on both sides: the split is leaky, and every table
made on it says so (``busbench.evaluate.protocol.protocol_notes``). busbench runs the same calls on the rows
in the same order (``DatasetAdapter.listing_order``), so the test set is the one their code holds out
on the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from busbench.data.adapters import ADAPTERS
from busbench.data.manifest import MANIFEST_META, Manifest
from busbench.errors import BusbenchError


def listing_positions(manifest: Manifest) -> np.ndarray:
    """Row positions of ``manifest.frame`` in the reference code's listing order; rows its listing
    misses follow in manifest order, files the manifest dropped are skipped."""
    adapter = json.loads(manifest.path.with_name(MANIFEST_META).read_text()).get("adapter", "")
    listed = ADAPTERS[adapter].listing_order(manifest.root) if adapter in ADAPTERS else None
    if listed is None:
        return np.arange(len(manifest.frame))
    position = {path: i for i, path in enumerate(manifest.frame["image_path"])}
    ordered = [position[rel] for rel in (Path(p).relative_to(manifest.root).as_posix() for p in listed)
               if rel in position]
    seen = set(ordered)
    return np.array(ordered + [i for i in range(len(manifest.frame)) if i not in seen], dtype=np.int64)


def image_level_roles(manifest: Manifest, test_size: float, folds: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(is_test, fold) per manifest row, as the reference code assigns them; fold 0 is the test set."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    order = listing_positions(manifest)
    labels = manifest.frame["label"].to_numpy()[order]
    counts = dict(zip(*np.unique(labels, return_counts=True)))
    if min(counts.values()) < folds + 1:
        raise BusbenchError(f"{manifest.path}: split.protocol=image_level stratifies by label, but the labels have "
                            f"{counts} images: too few for a test set and {folds} folds; lower split.folds")
    rows = np.arange(len(order))
    _, test_rows = train_test_split(rows, test_size=test_size, stratify=labels, random_state=seed)
    is_test_listed = np.zeros(len(order), dtype=bool)
    is_test_listed[test_rows] = True
    development = rows[~is_test_listed]  # ascending listing order, as the reference's DataFrame index
    fold_listed = np.zeros(len(order), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, validation) in enumerate(splitter.split(development, labels[development]), 1):
        fold_listed[development[validation]] = fold
    is_test, fold_of = np.zeros(len(order), dtype=bool), np.zeros(len(order), dtype=np.int64)
    is_test[order], fold_of[order] = is_test_listed, fold_listed
    return is_test, fold_of
