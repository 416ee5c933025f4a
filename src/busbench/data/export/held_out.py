"""Handing a prepared dataset to outside methods: its split, and the held-out test images alone.

``export-test`` writes only the test images (never a mask, never a development image), named by
case id at the original size, so an outside method can predict them for ``busbench score``.
The image is the one busbench trains on: fitted to its mask when ``prepare`` logged the two with
different sizes, so a prediction of it has the ground truth's geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from busbench.data.cache import load_pair
from busbench.data.integrity import file_sha256
from busbench.data.manifest import MANIFEST_CSV, Manifest, case_row, load_manifest
from busbench.data.provenance import Provenance, ids_sha256
from busbench.data.split.record import Split
from busbench.data.split.split_file import SPLIT_FILES, read_split
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_csv, write_png

CASES_CSV = "cases.csv"


def find_split(data_dir: Path, split: Path | None) -> Path:
    """The split file to use: ``split`` (a path, or a file name inside ``data_dir``), else the only
    ``split-*.json`` in ``data_dir``."""
    if split is not None:
        path = split if split.is_file() or split.parent != Path(".") else data_dir / split
        if not path.is_file():
            raise BusbenchError(f"--split {split}: no such split file (looked in the working folder and {data_dir})")
        return path
    found = sorted(data_dir.glob(SPLIT_FILES))
    if not found:
        raise BusbenchError(f"{data_dir}: no split file; create one with `busbench split {data_dir}`")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise BusbenchError(f"{data_dir}: holds {len(found)} split files ({names}); choose one with --split FILE")
    return found[0]


@dataclass(frozen=True)
class SplitData:
    """A prepared dataset with one verified split: what export and outside scoring read."""

    manifest: Manifest
    split_path: Path
    split: Split

    @cached_property
    def provenance(self) -> Provenance:
        """The provenance of a method trained on the development cases (all folds), like a fold ensemble."""
        return Provenance(self.manifest.sha256, file_sha256(self.split_path), self.split.test_set_sha256,
                          ids_sha256(self.split.development()))

    @cached_property
    def rows(self) -> pd.DataFrame:
        """The manifest's rows by case id."""
        return self.manifest.frame.set_index("case_id", drop=False)

    def pair(self, case_id: str) -> tuple[np.ndarray, np.ndarray]:
        """A case's grey image and lesion mask at its original (ground-truth) size."""
        return load_pair(self.manifest, case_row(self.rows, case_id), 1)


def load_split_data(data_dir: Path, split: Path | None = None) -> SplitData:
    data_dir = Path(data_dir)
    if not (data_dir / MANIFEST_CSV).is_file():
        raise BusbenchError(f"{data_dir}: no {MANIFEST_CSV}; give the folder `busbench prepare` wrote (e.g. "
                            "OUTPUT_DIR/data/<dataset key>)")
    manifest = load_manifest(data_dir)
    path = find_split(data_dir, split)
    document = read_split(path, manifest)
    manifest.verify_contents(document.held_out())  # what outside methods are scored on
    return SplitData(manifest, path, document)


def check_empty(out: Path) -> None:
    """Refuse an export folder that already holds files: they could mix with the export's (and be taken for
    its own)."""
    if out.exists() and any(out.iterdir()):
        raise BusbenchError(f"--out {out}: not empty; give a new folder, so that no other file mixes with the export")


def empty_folder(out: Path) -> Path:
    """``out``, created; refused if it already holds files (``check_empty``)."""
    out = Path(out)
    check_empty(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def export_test_images(data: SplitData, out: Path) -> pd.DataFrame:
    """Write ``<case id>.png`` for every held-out test case and ``cases.csv``; returns the table."""
    out = empty_folder(out)
    rows = []
    for case_id in data.split.held_out():
        image, _ = data.pair(case_id)
        write_png(image, out / f"{case_id}.png")
        rows.append({"case_id": case_id, "file": f"{case_id}.png", "width": image.shape[1], "height": image.shape[0]})
    table = pd.DataFrame(rows)
    write_csv(table, out / CASES_CSV, float_format=None)
    return table
