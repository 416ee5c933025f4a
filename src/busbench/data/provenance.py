"""Provenance: the data a result was made on, so that it is never used with another split.

Every artefact of a fold (``last.pt``, ``best.pt``, ``done.json``, ``test_metrics.csv``) and of a
cell (``ensemble_metrics.csv``, ``postprocessing.json``, cross-dataset scores) records the
manifest's, the split file's and the test set's sha256 and a hash of the training case ids.
Before an artefact is resumed, skipped over, ensembled, tuned on or reported, its record is
compared with the current split; any difference is one error naming the artefact, what differs
and the fix. Re-splitting (``split --force``) or editing the data therefore never lets an old
fold model, trained on today's test images, into today's results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from busbench.errors import BusbenchError

# What differs, in words, for each recorded checksum.
MEANINGS = {
    "manifest_sha256": "the dataset's manifest changed",
    "split_sha256": "the split file is another one",
    "test_set_sha256": "the held-out test set differs",
    "train_ids_sha256": "the training cases differ",
}
NO_RECORD = "records no provenance (made by an older busbench, or edited)"


def ids_sha256(case_ids: Iterable[str]) -> str:
    """Checksum of a set of case ids (order does not matter)."""
    return hashlib.sha256("\n".join(sorted(case_ids)).encode()).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """The checksums an artefact carries."""

    manifest_sha256: str
    split_sha256: str
    test_set_sha256: str
    train_ids_sha256: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def _differing(self, recorded: Mapping[str, object]) -> list[str]:
        return [key for key in MEANINGS if recorded.get(key) != getattr(self, key)]

    def mismatch(self, recorded: Mapping[str, object] | None) -> str | None:
        """Why an artefact with this record cannot be used with this provenance, in words (None: it can)."""
        if not recorded:
            return NO_RECORD
        differs = self._differing(recorded)
        return ", ".join(MEANINGS[k] for k in differs) if differs else None

    def check(self, recorded: Mapping[str, object] | None, artefact: Path, fix: str) -> None:
        """Refuse an artefact whose record differs from this provenance (or that has none)."""
        if not recorded:
            raise BusbenchError(f"{artefact}: {NO_RECORD}, so it cannot be shown to belong to the current split; {fix}")
        differs = self._differing(recorded)
        if differs:
            what = "; ".join(f"{MEANINGS[k]} ({str(recorded.get(k))[:12]} then, {getattr(self, k)[:12]} now)"
                             for k in differs)
            raise BusbenchError(f"{artefact}: made on another split: {what}. {fix}")


def frame_provenance(frame: pd.DataFrame, artefact: Path) -> dict[str, object] | None:
    """The provenance columns of a metrics table (every row must agree), or None without them."""
    if not set(MEANINGS) <= set(frame.columns):
        return None
    distinct = frame[list(MEANINGS)].drop_duplicates()
    if len(distinct) != 1:
        raise BusbenchError(f"{artefact}: rows made on {len(distinct)} different splits are mixed in one file; "
                            "delete it to recompute it")
    return {str(key): str(value) for key, value in distinct.iloc[0].items()}


def with_provenance(frame: pd.DataFrame, provenance: Provenance) -> pd.DataFrame:
    """``frame`` with the provenance columns added to every row."""
    return frame.assign(**provenance.as_dict())
