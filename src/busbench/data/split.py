"""`busbench split`: the frozen held-out test set and the cross-validation folds.

The test set is cut first, from the whole manifest, then the rest is divided into k folds; both
cuts are stratified (label x lesion-size tertile) and keep leakage groups (patient, exact and
near-duplicate images) whole. The split file records each case's role, the settings, the size
tertiles, the manifest's checksum and a checksum of the test set. It is written without
timestamps, so the same inputs give the same bytes; it is never silently replaced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from busbench.data.assign import assign_groups
from busbench.data.duplicates import DuplicateSettings, duplicate_links
from busbench.data.grouping import leakage_groups
from busbench.data.hashing import NEAR_DUPLICATE_DISTANCE
from busbench.data.manifest import Manifest
from busbench.data.stratify import size_tertiles, strata
from busbench.errors import BusbenchError

SPLIT_FORMAT = "busbench-split/1"
SPLIT_FILE = "split.json"  # its name beside the manifest
TEST = "test"
CV = "cv"


@dataclass(frozen=True)
class SplitSettings:
    """How a split is made; recorded in the split file."""

    test_size: float = 0.2
    folds: int = 5
    seed: int = 42
    official: bool = False
    official_test_fold: int = 1
    near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE
    near_duplicate_inliers: int = DuplicateSettings.near_duplicate_inliers
    near_duplicate_spread: float = DuplicateSettings.near_duplicate_spread
    near_duplicate_correlation: float = DuplicateSettings.near_duplicate_correlation
    near_duplicate_max_scale: float = DuplicateSettings.near_duplicate_max_scale

    def check(self) -> None:
        if not self.official and not 0.0 < self.test_size < 1.0:
            raise BusbenchError(f"--test-size must be between 0 and 1 (exclusive), got {self.test_size}")
        if not self.official and self.folds < 2:
            raise BusbenchError(f"--folds must be at least 2, got {self.folds}")
        self.duplicates().check()

    def duplicates(self) -> DuplicateSettings:
        return DuplicateSettings(**{f: getattr(self, f) for f in DuplicateSettings.__dataclass_fields__})


def test_set_sha256(case_ids: list[str], pixel_hashes: list[str]) -> str:
    """Checksum of the held-out test set: its sorted case ids and their pixel hashes."""
    digest = hashlib.sha256()
    for case_id, pixels in sorted(zip(case_ids, pixel_hashes)):
        digest.update(f"{case_id}\t{pixels}\n".encode())
    return digest.hexdigest()


def _official_roles(manifest: Manifest, settings: SplitSettings) -> tuple[np.ndarray, np.ndarray]:
    official = manifest.frame["official_fold"]
    if official.isna().any():
        missing = manifest.frame.loc[official.isna(), "case_id"].head(5).tolist()
        raise BusbenchError(
            f"{manifest.path}: --official needs the dataset's own partition, but cases such as {missing} "
            "have no official_fold (only some adapters, e.g. busbra, provide one); drop --official"
        )
    values = official.astype(int).to_numpy()
    available = sorted(set(values.tolist()))
    if settings.official_test_fold not in available:
        raise BusbenchError(
            f"--official-test-fold {settings.official_test_fold} is not one of the official folds {available}"
        )
    is_test = values == settings.official_test_fold
    renumber = {old: new for new, old in enumerate((f for f in available if f != settings.official_test_fold), 1)}
    folds = np.array([0 if t else renumber[v] for v, t in zip(values, is_test)])
    return is_test, folds


def _computed_roles(frame: pd.DataFrame, groups: np.ndarray, stratum: np.ndarray,
                    settings: SplitSettings) -> tuple[np.ndarray, np.ndarray]:
    is_test = assign_groups(groups, stratum, [settings.test_size, 1 - settings.test_size], settings.seed) == 0
    folds = np.zeros(len(frame), dtype=np.int64)
    dev = ~is_test
    folds[dev] = 1 + assign_groups(groups[dev], stratum[dev], [1.0] * settings.folds, settings.seed + 1)
    return is_test, folds


def plan_split(manifest: Manifest, settings: SplitSettings) -> dict[str, object]:
    """The split document for ``manifest``: every case's role plus what made it."""
    settings.check()
    frame = manifest.frame
    leakage = leakage_groups(frame, duplicate_links(manifest, settings.duplicates()))
    groups, duplicated = leakage.labels, leakage.duplicated
    tertiles = size_tertiles(frame)
    stratum = strata(frame, tertiles)
    if settings.official:
        is_test, folds = _official_roles(manifest, settings)
    else:
        if len(np.unique(groups)) < settings.folds + 1:
            raise BusbenchError(
                f"{manifest.path}: only {len(np.unique(groups))} independent groups of images, too few for a "
                f"test set and {settings.folds} folds; lower --folds or use a larger dataset"
            )
        is_test, folds = _computed_roles(frame, groups, stratum, settings)
    cases = [
        {"case_id": cid, "set": TEST if t else CV, "fold": None if t else int(f), "group": int(g), "stratum": s,
         "duplicate": bool(d)}
        for cid, t, f, g, s, d in zip(frame["case_id"], is_test, folds, groups, stratum, duplicated)
    ]
    test_ids = frame.loc[is_test, "case_id"].tolist()
    test_pixels = frame.loc[is_test, "pixel_sha256"].tolist()
    return {
        "format": SPLIT_FORMAT,
        "dataset": manifest.dataset,
        "manifest": {"file": manifest.path.name, "sha256": manifest.sha256},
        "settings": asdict(settings),
        "folds": int(folds.max()),
        "size_tertiles": list(tertiles),
        "duplicate_images": int(duplicated.sum()),
        "test_set_sha256": test_set_sha256(test_ids, test_pixels),
        "cases": sorted(cases, key=lambda c: c["case_id"]),
    }


def split_bytes(document: dict[str, object]) -> bytes:
    """The canonical serialisation: the same document always gives the same bytes."""
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_split(document: dict[str, object], path: Path, force: bool = False) -> str:
    """Write the split file; returns "created", "unchanged" or "replaced".

    An existing split with other content is the frozen test set of earlier results: replacing it
    needs ``force``.
    """
    data = split_bytes(document)
    path = Path(path)
    if path.exists():
        if path.read_bytes() == data:
            return "unchanged"
        if not force:
            old = json.loads(path.read_text())
            raise BusbenchError(
                f"{path}: a different split already exists (settings {old.get('settings')}, manifest "
                f"{old.get('manifest', {}).get('sha256', '?')[:12]}); its test set is frozen. Pass --force to "
                "replace it, knowing that every result computed on the old split no longer compares"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    status = "replaced" if path.exists() else "created"
    tmp.replace(path)
    return status


def read_split(path: Path, manifest: Manifest) -> dict[str, object]:
    """Load a split file and verify it still belongs to ``manifest`` and is intact."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: no split file; create it with `busbench split {manifest.path}`")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BusbenchError(f"{path}: not a valid split file ({exc}); recreate it with `busbench split`") from exc
    if document.get("format") != SPLIT_FORMAT:
        raise BusbenchError(f"{path}: format {document.get('format')!r} is not {SPLIT_FORMAT!r}; recreate it")
    recorded = document["manifest"]["sha256"]
    if recorded != manifest.sha256:
        raise BusbenchError(
            f"{path}: made for a manifest with sha256 {recorded[:12]}..., but {manifest.path} now has "
            f"{manifest.sha256[:12]}...; the data changed since the split was frozen. Restore the manifest, or "
            "re-run `busbench split --force` and recompute every result"
        )
    frame = manifest.frame.set_index("case_id")
    ids = [c["case_id"] for c in document["cases"]]
    if sorted(ids) != sorted(frame.index):
        raise BusbenchError(f"{path}: its cases differ from {manifest.path}'s; recreate the split")
    test_ids = [c["case_id"] for c in document["cases"] if c["set"] == TEST]
    if test_set_sha256(test_ids, frame.loc[test_ids, "pixel_sha256"].tolist()) != document["test_set_sha256"]:
        raise BusbenchError(f"{path}: the test set does not match its checksum; the file was edited. Restore it")
    return document
