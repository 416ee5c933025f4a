"""A dataset made ready for a cell: its manifest, frozen split and cache, prepared once and shared
by every model (``pipeline.prepared.prepare_data``), and the provenance of what is trained on it.

It lives in ``data`` so that the steps below the pipeline (scoring on the test set) take it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from busbench.data.access import DevelopmentSplit, development_of
from busbench.data.cache import Cache
from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest
from busbench.data.provenance import Provenance, ids_sha256
from busbench.data.split.record import Split


@dataclass(frozen=True)
class PreparedData:
    manifest: Manifest
    split_path: Path
    split: Split  # read and verified against ``manifest`` once
    cache: Cache

    @property
    def test_set_sha256(self) -> str:
        return self.split.test_set_sha256

    @cached_property
    def split_sha256(self) -> str:
        return file_sha256(self.split_path)

    @cached_property
    def development(self) -> DevelopmentSplit:
        """The cross-validation folds without the test cases, for the whole cell."""
        return development_of(self.split, self.split_path)

    def test_ids(self) -> list[str]:
        """The held-out test case ids: only for provenance checks and final scoring."""
        return self.split.held_out()

    def provenance(self, train_ids: list[str]) -> Provenance:
        return Provenance(self.manifest.sha256, self.split_sha256, self.test_set_sha256, ids_sha256(train_ids))
