"""The frozen split as a type: ``Split``, validated once when a split file is read (``load_split``),
so that every reader asks it for the held-out test set, the development folds and the leakage
groups by name instead of digging through the JSON.

``load_split`` checks the file alone (its format, every field's kind, each case's role and fold);
``split_file.read_split`` also checks it against the manifest it was made from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from busbench.errors import BusbenchError
from busbench.records import validation_text

SPLIT_FORMAT = "busbench-split/2"
TEST = "test"
CV = "cv"
GROUPED = "grouped"
IMAGE_LEVEL = "image_level"
# a link: case_a, case_b, the measure that linked them, its value
Link = tuple[str, str, str, float]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SplitCase(_Frozen):
    """One image's role: the held-out test set (``fold`` None) or development fold ``fold``."""

    case_id: str
    set: Literal["test", "cv"]
    fold: int | None
    group: int  # its leakage group (patient, duplicates): a group is never cut
    stratum: str  # ``normal`` or ``<label>/<size bin>``
    duplicate: bool  # linked to another image as an exact or near duplicate

    @model_validator(mode="after")
    def _fold_matches_role(self) -> SplitCase:
        if (self.set == TEST) != (self.fold is None):
            raise ValueError(f"case {self.case_id}: a {self.set} case must have "
                             f"{'no fold' if self.set == TEST else 'a fold'}")
        return self


class SplitManifest(_Frozen):
    file: str
    sha256: str


class LargeGroup(_Frozen):
    """A leakage group of more than half a fold, with the links that formed it."""

    group: int
    size: int
    members: tuple[str, ...]
    links: tuple[Link, ...]


class SplitRegistry(_Frozen):
    """Where a split came from a registry (``busbench split --registry``): which one, and how the
    copy it was made on differed from it."""

    name: str
    sha256: str  # of the registry file
    test_set_sha256: str  # ``registry_test_set_sha256`` of this split's test cases: the registry's when all are here
    extra_cases: tuple[str, ...] = ()  # cases of the copy the registry does not hold: development only
    missing_cases: tuple[str, ...] = ()  # registry cases (its names) the copy lacks
    case_keys: dict[str, str] = {}  # this copy's case id -> the registry's case id: the key that pairs labs' results

    @property
    def complete(self) -> bool:
        return not self.extra_cases and not self.missing_cases


class Split(_Frozen):
    """A split file (``busbench split``): every case's role and what made the split.

    Examples:
        A hand-made split of five images:

        >>> cases = [{"case_id": c, "set": s, "fold": f, "group": g, "stratum": "benign/small", "duplicate": False}
        ...          for c, s, f, g in [("a", "test", None, 0), ("b", "cv", 1, 1), ("c", "cv", 2, 2),
        ...                             ("d", "cv", 1, 1), ("e", "cv", 2, 3)]]
        >>> split = Split.model_validate({"format": SPLIT_FORMAT, "dataset": "toy", "folds": 2,
        ...     "manifest": {"file": "manifest.csv", "sha256": "0" * 64}, "settings": {"seed": 1},
        ...     "size_tertiles": [0.01, 0.05], "duplicate_images": 0, "duplicate_links": [],
        ...     "user_links": {}, "large_groups": [], "test_set_sha256": "1" * 64, "cases": cases})
        >>> split.held_out(), split.fold(1), split.development()["e"]
        (['a'], ['b', 'd'], 2)
    """

    format: Literal["busbench-split/2"]
    dataset: str
    manifest: SplitManifest
    settings: dict[str, Any]  # ``SplitSettings.recorded``: as JSON gives it back
    folds: int
    size_tertiles: tuple[float, ...]
    duplicate_images: int
    duplicate_links: tuple[Link, ...]
    user_links: dict[str, tuple[tuple[str, str], ...]]  # "must-link" and "cannot-link" pairs of the link file
    reviewed_links: tuple[tuple[str, str], ...] = ()  # absent from splits made before busbench reviewed pairs
    large_groups: tuple[LargeGroup, ...]
    test_set_sha256: str  # ``split_file.test_set_sha256`` of the test cases
    cases: tuple[SplitCase, ...]
    registry: SplitRegistry | None = None  # the registry the roles came from, if any

    @model_validator(mode="after")
    def _consistent(self) -> Split:
        ids = [case.case_id for case in self.cases]
        if len(set(ids)) != len(ids):
            raise ValueError(f"case ids listed twice: {sorted({c for c in ids if ids.count(c) > 1})[:5]}")
        if self.folds < 1:
            raise ValueError(f"folds is {self.folds}; a split has at least one fold")
        outside = sorted({case.fold for case in self.cases if case.fold is not None} - set(range(1, self.folds + 1)))
        if outside:
            raise ValueError(f"folds {outside} used by cases, but the split has folds 1..{self.folds}")
        return self

    def held_out(self) -> list[str]:
        """The held-out test cases' ids, sorted: for final scoring and provenance only."""
        return sorted(case.case_id for case in self.cases if case.set == TEST)

    def development(self) -> dict[str, int]:
        """Development case id -> its cross-validation fold (1..``folds``); no test case."""
        return {case.case_id: case.fold for case in self.cases if case.fold is not None}

    def fold(self, k: int) -> list[str]:
        """The development cases of fold ``k`` (fold model ``k`` validates on them), sorted."""
        if not 1 <= k <= self.folds:
            raise BusbenchError(f"fold {k} does not exist in this split of {self.dataset}: its folds are "
                                f"1..{self.folds}")
        return sorted(case.case_id for case in self.cases if case.fold == k)

    @property
    def groups(self) -> dict[str, int]:
        """Case id -> leakage group, for every case: images of one group are never independent."""
        return {case.case_id: case.group for case in self.cases}

    @property
    def protocol(self) -> str:
        """``grouped`` (busbench's) or ``image_level`` (the leaky split of published benchmarks)."""
        return str(self.settings.get("protocol", GROUPED))

    def cases_frame(self) -> pd.DataFrame:
        """One row per case: case_id, set, fold (None for test cases), group, stratum, duplicate."""
        return pd.DataFrame([case.model_dump() for case in self.cases],
                            columns=list(SplitCase.model_fields))


def load_split(path: Path) -> Split:
    """A split file, checked on its own: its format, the kind of every field, each case's role and
    fold. One line naming the file if it is missing, damaged or hand-edited beyond reading."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: no split file; create it with `busbench split MANIFEST`")
    fix = "restore it from a copy, or recreate it with `busbench split` (results made on another split are refused)"
    try:
        raw = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BusbenchError(f"{path}: not a valid split file ({exc}); {fix}") from exc
    found = raw.get("format") if isinstance(raw, dict) else None
    if found != SPLIT_FORMAT:
        raise BusbenchError(f"{path}: format {found!r} is not {SPLIT_FORMAT!r}; {fix}")
    try:
        return Split.model_validate(raw)
    except ValidationError as exc:
        raise BusbenchError(f"{path}: not a valid split file ({validation_text(exc)}); {fix}") from exc
