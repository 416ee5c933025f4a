"""A split registry file: one dataset's published split, every case known by its content.

A registry is a JSON file: a header (format, name, dataset and its version, the resolution its
exact hashes were taken at, the busbench version and commit that made it, the split's settings,
its fold count and the checksum of its test set) and one line per case with ``COLUMNS``. Cases are
named by the file names of the copy it was made from, but matched by content
(``busbench.data.content.matching``). The registries busbench ships live in ``shipped/``,
named ``<name>.json``.

The test set's checksum hashes the sorted pixel hashes of its cases as the registry records them,
not file names or local pixels, so it is the same on every copy that holds the test images.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from busbench.data.content.matching import match_cases
from busbench.data.split.record import CV, TEST
from busbench.errors import BusbenchError
from busbench.records import validation_text

REGISTRY_FORMAT = "busbench-registry/1"
SHIPPED = Path(__file__).with_name("shipped")
COLUMNS = ("case_id", "part", "fold", "group", "label", "width", "height", "masks", "pixel_sha256", "mask_sha256",
           "lesion_box", "thumbnail")


class Registry(BaseModel):
    """A registry as read: its header and its cases (one dict per case, with ``COLUMNS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["busbench-registry/1"]
    name: str
    dataset: str  # the adapter's dataset name (busi, busbra, ...): a registry splits that dataset only
    dataset_version: str
    description: str
    exact_hashes_at: str  # the resolution of the copy the exact hashes were taken from
    created_by: dict[str, str | None]  # busbench version and git commit
    settings: dict[str, Any]  # the settings of the split it was made from
    folds: int
    test_set_sha256: str
    columns: tuple[str, ...]
    cases: tuple[tuple[Any, ...], ...]

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: tuple[str, ...]) -> tuple[str, ...]:
        if tuple(columns) != COLUMNS:
            raise ValueError(f"columns must be {list(COLUMNS)}")
        return columns

    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        frame = self.frame()
        twice = frame.loc[frame["case_id"].duplicated(), "case_id"].tolist()
        if twice:
            raise ValueError(f"case ids listed twice: {twice[:5]}")
        if not frame["part"].isin([TEST, CV]).all():
            raise ValueError(f"part must be {TEST!r} or {CV!r}")
        folds = frame.loc[frame["part"] == CV, "fold"]
        if not folds.isin(range(1, self.folds + 1)).all():
            raise ValueError(f"development folds must be 1..{self.folds}")
        if registry_test_set_sha256(frame.loc[frame["part"] == TEST, "pixel_sha256"]) != self.test_set_sha256:
            raise ValueError("the test set does not match test_set_sha256 (a case's part or hash was edited)")
        return self

    def frame(self) -> pd.DataFrame:
        """One row per case, with ``COLUMNS``; ``fold`` is None for test cases."""
        return pd.DataFrame([list(case) for case in self.cases], columns=list(COLUMNS))


def match_copy(registry: Registry, copy: pd.DataFrame, source: object) -> pd.DataFrame:
    """The cases of ``copy`` (a manifest frame read from ``source``) paired with the registry's by
    content (``match_cases``); refused as another dataset where fewer than half of them match."""
    matches = match_cases(registry.frame(), copy)
    if len(matches) < len(copy) / 2:
        raise BusbenchError(f"{source}: only {len(matches)} of its {len(copy)} cases match registry {registry.name}, "
                            f"made for {registry.dataset} ({registry.dataset_version}): another dataset. Pass the "
                            "registry of your dataset (`busbench registry list`)")
    return matches


def registry_test_set_sha256(pixel_hashes: Any) -> str:
    """Checksum of a test set by content: the sorted pixel hashes (as the registry records them)."""
    digest = hashlib.sha256()
    for pixels in sorted(pixel_hashes):
        digest.update(f"{pixels}\n".encode())
    return digest.hexdigest()


def registry_bytes(registry: Registry) -> bytes:
    """The canonical file: the header sorted, then one case per line, so that a diff shows cases."""
    header = registry.model_dump(exclude={"cases"})
    lines = json.dumps(header, indent=1, sort_keys=True, ensure_ascii=False)[:-2]
    cases = ",\n".join("  " + json.dumps(list(case), ensure_ascii=False) for case in registry.cases)
    return f'{lines},\n "cases": [\n{cases}\n ]\n}}\n'.encode()


def shipped_registries() -> dict[str, Path]:
    """Name -> file of every registry busbench ships."""
    return {path.stem: path for path in sorted(SHIPPED.glob("*.json"))}


def registry_path(name_or_path: str | Path) -> Path:
    """A shipped registry's file by name, or a registry file by path."""
    shipped = shipped_registries()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise BusbenchError(f"--registry {name_or_path}: neither a registry busbench ships "
                        f"({', '.join(shipped) or 'none'}) nor a registry file; see `busbench registry list`")


def load_registry(name_or_path: str | Path) -> tuple[Registry, Path, str]:
    """A registry by shipped name or path, checked: (registry, its file, the file's sha256)."""
    path = registry_path(name_or_path)
    fix = "restore the file (or reinstall busbench for a shipped one), or rebuild it with `busbench registry build`"
    data = path.read_bytes()
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BusbenchError(f"{path}: not a registry file ({exc}); {fix}") from exc
    found = raw.get("format") if isinstance(raw, dict) else None
    if found != REGISTRY_FORMAT:
        raise BusbenchError(f"{path}: format {found!r} is not {REGISTRY_FORMAT!r}; use a registry of this busbench "
                            f"version, or {fix}")
    try:
        registry = Registry.model_validate(raw)
    except ValidationError as exc:
        raise BusbenchError(f"{path}: not a valid registry ({validation_text(exc)}); {fix}") from exc
    sha256 = hashlib.sha256(data).hexdigest()
    shipped = shipped_registries().get(registry.name)
    if shipped is not None and shipped.resolve() != path.resolve() and \
            hashlib.sha256(shipped.read_bytes()).hexdigest() != sha256:  # the shipped file itself: not read twice
        raise BusbenchError(f"{path}: calls itself {registry.name}, a registry busbench ships, but is another file "
                            f"(sha256 {sha256[:12]}); split with the shipped one (`--registry {registry.name}`), or "
                            "give a registry of your own a name of its own (`busbench registry build --name`)")
    return registry, path, sha256
