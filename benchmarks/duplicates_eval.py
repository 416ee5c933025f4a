"""Precision and recall of the near-duplicate detector on the labelled BUSI and BUS-BRA pairs.

Usage: ``python benchmarks/duplicates_eval.py [DATA_DIR] [--max-scale ZOOM]`` (default ``../shared/data``;
``--max-scale``: ``split.near_duplicate_max_scale``, to measure another zoom limit). Prepares each
dataset's manifest in a temporary folder, links it with the default settings and prints, per
dataset and per kind of pair, how many labelled duplicates were linked (recall) and how many links
among the labelled pairs were right (precision). Beside it: the old rule (identical pixels or
whole-image pHash within 10 bits), and the time the detector took, images read included. Last,
the mirrored copies of ``mirrored_copies.py`` added to BUSI: how many are linked to their original,
and how many reviewed BUSI negatives are then linked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from busbench.data.duplicates.candidates import bits_apart, hash_values
from busbench.data.duplicates.links import LINK_COLUMNS, DuplicateSettings, duplicate_links
from busbench.data.duplicates.reviewed import REVIEWED_PAIRS
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.grouping import leakage_groups

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mirrored_copies import write_busi_with_mirrors  # noqa: E402

PAIRS = REVIEWED_PAIRS
FOLDERS = {"busi": "Dataset_BUSI_with_GT", "busbra": "BUSBRA"}
OLD_PHASH_BITS = 10


def linked_pairs(links: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(p) for p in zip(links["case_a"], links["case_b"])}


def old_rule(manifest: Manifest) -> set[frozenset[str]]:
    """Pairs the previous detector linked: identical pixels or pHash within 10 bits."""
    frame = manifest.frame
    ids = frame["case_id"].to_numpy()
    same = frame["pixel_sha256"].to_numpy()[:, None] == frame["pixel_sha256"].to_numpy()[None, :]
    values = hash_values(frame["phash"].tolist())
    close = bits_apart(values[:, None], values[None, :]) <= OLD_PHASH_BITS
    i, j = np.nonzero(np.triu(same | close, k=1))
    return {frozenset((ids[a], ids[b])) for a, b in zip(i, j)}


def same_group(manifest: Manifest, linked: set[frozenset[str]]) -> dict[str, int]:
    """Group label per case id from these links alone (patients left out)."""
    pairs = [sorted(p) for p in linked if len(p) == 2]
    links = pd.DataFrame([(a, b, "link", 0.0) for a, b in pairs], columns=LINK_COLUMNS)
    frame = manifest.frame[["case_id"]].assign(patient_id="")
    return dict(zip(frame["case_id"], leakage_groups(frame, links).labels.tolist()))


def scores(labelled: pd.DataFrame, linked: set[frozenset[str]], group: dict[str, int] | None = None) -> str:
    """Recall and precision over the labelled pairs: a pair counts as linked when it is linked
    directly, or, with ``group``, when both cases end up in one group."""
    predicted = np.array([frozenset((a, b)) in linked if group is None else group[a] == group[b]
                          for a, b in zip(labelled["case_a"], labelled["case_b"])])
    truth = labelled["duplicate"].to_numpy() == 1
    hits = int((predicted & truth).sum())
    recall = f"{hits}/{int(truth.sum())}" if truth.any() else "-"
    precision = f"{hits}/{int(predicted.sum())}" if predicted.any() else "-"
    false = int((predicted & ~truth).sum())
    return f"recall {recall:>7}  precision {precision:>7}  false links {false}/{int((~truth).sum())}"


def main(data: Path, settings: DuplicateSettings) -> None:
    cv2.setNumThreads(1)
    pairs = pd.read_csv(PAIRS)
    print(f"settings: {settings}")
    with tempfile.TemporaryDirectory() as work:
        for dataset, folder in FOLDERS.items():
            prepare_dataset(dataset, data / folder, Path(work) / dataset)
            manifest = load_manifest(Path(work) / dataset)
            start = time.perf_counter()
            links = duplicate_links(manifest, settings)
            seconds = time.perf_counter() - start
            new, old = linked_pairs(links), old_rule(manifest)
            groups = {"new": same_group(manifest, new), "old": same_group(manifest, old)}
            labelled = pairs[pairs["dataset"] == dataset]
            print(f"\n{dataset}: {len(manifest.frame)} images, {len(links)} links in {seconds:.1f} s "
                  f"({links['measure'].value_counts().to_dict()})")
            for name, group in groups.items():
                sizes = np.bincount(list(group.values()))
                print(f"  {name} groups: {int((sizes > 1).sum())} of 2+ images holding {int(sizes[sizes > 1].sum())}"
                      f" images, largest {int(sizes.max())}")
            for kind, rows in [("all", labelled), *labelled.groupby("kind")]:
                print(f"  {kind:<16} new link : {scores(rows, new)}\n  {'':<16} new group: "
                      f"{scores(rows, new, groups['new'])}\n  {'':<16} old link : {scores(rows, old)}\n"
                      f"  {'':<16} old group: {scores(rows, old, groups['old'])}")
    mirrored(data, pairs, settings)


def mirrored(data: Path, pairs: pd.DataFrame, settings: DuplicateSettings) -> None:
    """Recall on BUSI's injected mirrored copies and false links among its reviewed negatives."""
    with tempfile.TemporaryDirectory() as work:
        copies = write_busi_with_mirrors(data / FOLDERS["busi"], Path(work) / "raw")
        prepare_dataset("busi", Path(work) / "raw", Path(work) / "data")
        start = time.perf_counter()
        linked = linked_pairs(duplicate_links(load_manifest(Path(work) / "data"), settings))
        seconds = time.perf_counter() - start
    negatives = pairs[(pairs["dataset"] == "busi") & (pairs["duplicate"] == 0)]
    false = sum(frozenset(p) in linked for p in zip(negatives["case_a"], negatives["case_b"]))
    print(f"\nbusi + {len(copies)} mirrored copies ({seconds:.1f} s):")
    for kind in sorted({k for *_, k in copies}):
        mine = [(o, c) for o, c, k in copies if k == kind]
        print(f"  {kind:<16} linked to the original: {sum(frozenset(p) in linked for p in mine)}/{len(mine)}")
    print(f"  reviewed negatives linked: {false}/{len(negatives)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--max-scale", type=float, default=DuplicateSettings.near_duplicate_max_scale)
    args = parser.parse_args()
    main(args.data, DuplicateSettings(near_duplicate_max_scale=args.max_scale))
