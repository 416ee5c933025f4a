"""The manifest: one row per image, the only thing later steps read about a dataset.

``manifest.csv`` holds paths relative to the dataset root, so its checksum does not change when
the data is moved; the root and how the manifest was made live in ``manifest.json`` beside it.
The CSV is written deterministically (sorted rows, fixed float format), so preparing the same
data twice gives the same bytes and the same checksum, which splits and caches record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from busbench.data.integrity import FILE_BYTES, FILE_SHA256, file_sha256, verify_dataset_files, verify_file_contents
from busbench.data.io import read_image, read_mask
from busbench.data.root_link import warn_if_repointed
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_csv, write_json

MANIFEST_CSV = "manifest.csv"
MANIFEST_META = "manifest.json"

CORE_COLUMNS = [
    "case_id",
    "dataset",
    "label",
    "patient_id",
    "image_path",
    "mask_paths",
    "width",
    "height",
    "lesion_area_fraction",
    "pixel_sha256",
    "phash",
    "mask_sha256",
    "thumbnail",
    "lesion_box",
    "image_resized_to_mask",
    "official_fold",
    "white_level",
    FILE_BYTES,
    FILE_SHA256,
]
META_PREFIX = "meta_"
# content fingerprints (``data.content``), added with split registries: a manifest prepared before them still
# reads (its runs stay reportable), and what needs them asks for them (``Manifest.require_fingerprints``)
FINGERPRINTS = ("mask_sha256", "thumbnail", "lesion_box")


@dataclass(frozen=True)
class Manifest:
    """A loaded manifest: its rows, the dataset root, and the checksum of its CSV."""

    path: Path
    frame: pd.DataFrame
    root: Path
    sha256: str

    @property
    def dataset(self) -> str:
        return str(self.frame["dataset"].iloc[0]) if len(self.frame) else ""

    @property
    def white_level(self) -> int:
        """The value ``prepare`` scaled the dataset's high-bit-depth images from (to 255; 255 when all
        are 8-bit): one for the whole dataset, recorded by a run so that ``predict`` scales alike."""
        return int(self.frame["white_level"].max()) if len(self.frame) else 255

    def image_file(self, row: pd.Series) -> Path:
        return self.root / str(row["image_path"])

    def image(self, row: pd.Series, channels: int = 1) -> np.ndarray:
        """A case's image as uint8, scaled as ``prepare`` decided for the whole dataset."""
        return read_image(self.image_file(row), channels, int(row["white_level"]))

    def mask_files(self, row: pd.Series) -> list[Path]:
        return [self.root / p for p in json.loads(row["mask_paths"])]

    @property
    def adapter(self) -> str:
        """The adapter that prepared it (``busi``, ``folder``, ...): a run names it as ``data.dataset``."""
        meta = json.loads(self.path.with_name(MANIFEST_META).read_text())
        return str(meta.get("adapter") or self.dataset)

    def require_fingerprints(self, what: str) -> None:
        """Refuse ``what`` on a manifest prepared before busbench recorded content fingerprints."""
        absent = [c for c in FINGERPRINTS if c not in self.frame]
        if absent:
            raise BusbenchError(f"{self.path}: prepared before busbench recorded content fingerprints (no "
                                f"{', '.join(absent)}), which {what} needs; run `busbench prepare` again into a new "
                                "folder (preparing in place would make the runs on this one unreadable)")

    def verify_contents(self, case_ids: Collection[str]) -> None:
        """Refuse if a file of these cases (the held-out test set) differs by content from what ``prepare``
        read: loading the manifest compares sizes and times only."""
        meta = json.loads(self.path.with_name(MANIFEST_META).read_text())
        rows = self.frame[self.frame["case_id"].isin(set(case_ids))]
        verify_file_contents(rows, self.root, meta, self.path)

    def lesion(self, row: pd.Series) -> np.ndarray:
        """The ground truth at the original size: the union of the case's masks."""
        lesion = np.zeros((int(row["height"]), int(row["width"])), dtype=bool)
        for path in self.mask_files(row):
            lesion |= read_mask(path).lesion
        return lesion


def case_row(rows: pd.DataFrame, case_id: str) -> pd.Series:
    """``case_id``'s row of a manifest frame indexed by case id (``set_index("case_id", drop=False)``)."""
    row = rows.loc[case_id]
    if isinstance(row, pd.DataFrame):  # prepare never writes one; a manifest edited by hand can
        raise BusbenchError(f"case id {case_id!r} is listed {len(row)} times in the manifest; "
                            "re-run `busbench prepare`")
    return row


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """The manifest's case order (and the adapters' file order): a sort key reading digit runs as
    numbers, so ``case2`` comes before ``case10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def write_manifest(frame: pd.DataFrame, out_dir: Path, meta: dict[str, object]) -> Path:
    """Write ``manifest.csv`` and ``manifest.json`` into ``out_dir``; returns the CSV path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta_cols = sorted(c for c in frame.columns if c.startswith(META_PREFIX))
    ordered = frame[CORE_COLUMNS + meta_cols].sort_values("case_id", key=lambda ids: ids.map(natural_key))
    csv_path = out_dir / MANIFEST_CSV
    write_csv(ordered, csv_path, float_format="%.8f")
    meta = {**meta, "manifest_sha256": file_sha256(csv_path), "cases": len(ordered)}
    write_json(meta, out_dir / MANIFEST_META)
    return csv_path


def prepared_name(folder: Path) -> str | None:
    """The dataset name a prepared folder's ``manifest.json`` records (a folder dataset's ``-o name=``);
    None where the folder holds none, or a damaged one: this only names, it does not load."""
    try:
        name = json.loads((Path(folder) / MANIFEST_META).read_text()).get("dataset")
    except (OSError, ValueError, AttributeError):
        return None
    return str(name) if name else None


def names_patients(path: Path) -> bool:
    """Whether a manifest (its CSV or folder) gives any image a patient id: BUSI does not, BUS-BRA does."""
    ids = pd.read_csv(_resolve_csv(path), usecols=lambda column: column == "patient_id", dtype=str,
                      keep_default_na=False)
    return bool((ids != "").any(axis=None))


def _resolve_csv(path: Path) -> Path:
    path = Path(path)
    return path / MANIFEST_CSV if path.is_dir() else path


def load_manifest(path: Path) -> Manifest:
    """Load a manifest from its CSV or its folder, with its root from the JSON beside it, after
    checking that the dataset's files are still those it was made from (``busbench.data.integrity``)."""
    csv_path = _resolve_csv(path)
    meta_path = csv_path.with_name(MANIFEST_META)
    if not csv_path.is_file():
        raise BusbenchError(f"{csv_path}: no manifest here; create one with `busbench prepare DATASET --out DIR`")
    if not meta_path.is_file():
        raise BusbenchError(f"{meta_path}: missing beside {csv_path.name}; re-run `busbench prepare`")
    frame = pd.read_csv(
        csv_path,
        dtype={"case_id": str, "patient_id": str, "dataset": str, "label": str, "phash": str, "thumbnail": str,
               "lesion_box": str},
        keep_default_na=False,
        na_values={"official_fold": [""]},
    )
    missing = [c for c in CORE_COLUMNS if c not in frame.columns and c not in FINGERPRINTS]
    if missing:
        raise BusbenchError(f"{csv_path}: columns {missing} are missing; re-run `busbench prepare`")
    frame["official_fold"] = frame["official_fold"].astype("Int64")
    meta = json.loads(meta_path.read_text())
    warn_if_repointed(meta, csv_path)
    verify_dataset_files(frame, Path(meta["root"]), meta, meta_path, csv_path)
    return Manifest(path=csv_path, frame=frame, root=Path(meta["root"]), sha256=file_sha256(csv_path))
