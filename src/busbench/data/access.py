"""The two ways to read a split: development data for training and tuning, and the held-out
test set for the final evaluation alone.

``DevelopmentSplit`` is built without the test cases: training, validation, model selection and
post-processing tuning receive one and so cannot reach the test set. ``held_out_test_ids`` is
called only by the final evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from busbench.data.manifest import Manifest, file_sha256
from busbench.data.split.split_file import TEST, case_ids, development_folds, read_split
from busbench.errors import BusbenchError


@dataclass(frozen=True)
class DevelopmentSplit:
    """Cross-validation folds of the development cases; the held-out test cases are absent."""

    split_path: Path
    split_sha256: str
    folds: int
    fold_of: Mapping[str, int]

    def case_ids(self) -> list[str]:
        return sorted(self.fold_of)

    def _check(self, fold: int) -> None:
        if not 1 <= fold <= self.folds:
            raise BusbenchError(f"fold {fold} does not exist in {self.split_path}: folds are 1..{self.folds}")

    def train_ids(self, fold: int) -> list[str]:
        """Development cases outside ``fold``: the training data of fold model ``fold``."""
        self._check(fold)
        return sorted(c for c, f in self.fold_of.items() if f != fold)

    def val_ids(self, fold: int) -> list[str]:
        """Development cases in ``fold``: validation data of fold model ``fold``."""
        self._check(fold)
        return sorted(c for c, f in self.fold_of.items() if f == fold)


def development_split(split_path: Path, manifest: Manifest) -> DevelopmentSplit:
    """The development part of a verified split."""
    document = read_split(split_path, manifest)
    return DevelopmentSplit(Path(split_path), file_sha256(Path(split_path)), int(document["folds"]),
                            MappingProxyType(development_folds(document)))


def held_out_test_ids(split_path: Path, manifest: Manifest) -> list[str]:
    """The held-out test cases of a verified split, their files checked by content. Final evaluation only."""
    ids = case_ids(read_split(split_path, manifest), TEST)
    manifest.verify_contents(ids)
    return ids
