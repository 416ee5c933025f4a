"""The development data of a split, for training and tuning, without its held-out test set.

``DevelopmentSplit`` is built without the test cases: training, validation, model selection and
post-processing tuning receive one and so cannot reach the test set, which only the final
evaluation asks the ``Split`` for (``Split.held_out``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest
from busbench.data.split.record import Split
from busbench.data.split.split_file import read_split
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
    """The development part of a split file, verified against ``manifest``."""
    return development_of(read_split(split_path, manifest), split_path)


def held_out_test_ids(split: Split, manifest: Manifest) -> list[str]:
    """The held-out test cases of a verified split, their files checked by content. Final evaluation only."""
    ids = split.held_out()
    manifest.verify_contents(ids)
    return ids


def development_of(split: Split, split_path: Path) -> DevelopmentSplit:
    """The development part of a split already read from ``split_path``."""
    return DevelopmentSplit(Path(split_path), file_sha256(Path(split_path)), split.folds,
                            MappingProxyType(split.development()))
