"""A bundle file: the results of one run folder, every test case known by content, no images.

A bundle is JSON: its format, the run it came from (its name and identity, a checksum of every cell's
resolved config, environment and per-image metrics, so two bundles of one run are recognised), the
busbench that wrote it, and per cell (dataset x model) the model's names and cost, the resolved
config, ``environment.json``, the test set (a registry's name and checksums, or the test set by
content), the metric conventions and one row per test image and row type (each fold model, the
ensemble, the ensemble with post-processing). A case is keyed by its registry id where the split
came from a registry (or was matched to one), otherwise by its pixel hash; its pixel hash is always
there. ``cells_sha256`` covers the cells, so an edited or cut file is refused as damaged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from busbench.errors import BusbenchError
from busbench.records import validation_text

BUNDLE_FORMAT = "busbench-bundle/1"
CASE = "case"  # the column of a case's key: its registry id, or its pixel hash
TEXT_COLUMNS = (CASE, "pixel_sha256", "variant", "label", "empty_case")  # the rest are numbers (None: missing)
REGISTRY, CONTENT = "registry", "content"  # what the case keys of a test set are
_HASH_SHOWN = 12


def short_key(key: str) -> str:
    """A case key for messages: a pixel hash shortened, a registry id as it is."""
    return key[:_HASH_SHOWN] if len(key) == 64 else key


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HeldOutSet(_Frozen):
    """Which test set the cell was scored on, as another lab can check it."""

    keys: Literal["registry", "content"]  # registry case ids, or pixel hashes
    registry: str | None = None
    registry_sha256: str | None = None  # of the registry file
    registry_test_set_sha256: str | None = None  # the registry's test-set checksum
    matched: str = ""  # how the cases got their registry ids: the split's, or matched by content when bundled
    content_sha256: str  # ``registry_test_set_sha256`` of this copy's test pixel hashes
    cases: int

    def identity(self) -> str:
        """What two cells must share to be ranked together."""
        if self.keys == REGISTRY:
            return f"registry {self.registry} test set {str(self.registry_test_set_sha256)[:12]}"
        return f"test set by content {self.content_sha256[:12]} (no registry)"


class Conventions(_Frozen):
    """How the metrics were computed; a leaderboard warns where two entries differ."""

    hd95: str  # eval.hd95: pooled or max-directed
    hd95_space: str  # eval.hd95_space: original or network
    hd95_empty: str  # eval.hd95_empty: diagonal or drop_false_alarms
    empty_masks: str  # the Dice rule for empty masks
    scoring_resolution: str  # where the metrics were measured, and the test images' size
    threshold: float
    tta: tuple[str, ...]
    postprocess: bool
    postprocessing: dict[str, Any] | None = None  # postprocessing.json: what was chosen


class Cost(_Frozen):
    """One network at the run's input (``tables.complexity.model_cost``)."""

    params_m: float | None = None
    gflops: float | None = None
    macs_g_224: float | None = None
    size_224: float | None = None
    fps: float | None = None  # a fold model's row (1 network, its TTA views), measured by `busbench profile --run`
    fps_ensemble: float | None = None  # the ensemble row's, measured the same way
    ensemble_networks: int | None = None  # the fold models that ensemble held
    fps_precision: str | None = None
    fps_device: str | None = None
    fps_note: str = ""


class BundleCell(_Frozen):
    cell: str  # <dataset key>/<model key>
    dataset: str
    dataset_title: str
    model: str
    title: str  # the display name (``report.names``)
    identity: str  # sha256 of the resolved config, environment and per-image metrics
    config: dict[str, Any]
    environment: dict[str, Any]
    cost: Cost
    test_set: HeldOutSet
    conventions: Conventions
    notes: tuple[str, ...]  # deviations from the fair protocol, as every table states them
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def frame(self) -> pd.DataFrame:
        """The per-image rows: ``case`` (the key), pixel_sha256, variant, fold, group, label, metrics."""
        frame = pd.DataFrame([list(row) for row in self.rows], columns=list(self.columns))
        numbers = [column for column in self.columns if column not in TEXT_COLUMNS]
        frame[numbers] = frame[numbers].apply(pd.to_numeric)
        return frame


class Bundle(_Frozen):
    format: Literal["busbench-bundle/1"]
    run: str  # the run folder's name
    identity: str  # sha256 of the cells' identities
    created_by: dict[str, str | None]  # busbench version and commit that wrote the bundle
    cells_sha256: str
    cells: tuple[BundleCell, ...]


def canonical_sha256(payload: Any) -> str:
    """sha256 of ``payload`` as sorted, compact JSON: the same values give the same checksum anywhere."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def cell_identity(config: dict[str, Any], environment: dict[str, Any], columns: Sequence[str],
                  rows: Sequence[Sequence[Any]]) -> str:
    """A cell's identity: its resolved config, environment and per-image metrics, not the case keys
    (the first column: ``--registry`` changes them), so that two bundles of one run are recognised."""
    return canonical_sha256({"config": config, "environment": environment, "columns": list(columns[1:]),
                             "rows": [list(row[1:]) for row in rows]})


def run_identity(cell_identities: Iterable[str]) -> str:
    """A run's identity: that of its cells, in any order."""
    return canonical_sha256(sorted(cell_identities))


def bundle_text(bundle: Bundle) -> str:
    """Compact JSON: a BUSI run of 5 folds (156 test images, 7 rows each) is about 0.3 MB, so never zipped."""
    return json.dumps(bundle.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def remake(path: Path) -> str:
    return (f"make it again from the run folder with `busbench bundle RUN --out {path.name}` (with the busbench "
            "version that reads it)")


def read_bundle(path: Path) -> Bundle:
    """A bundle, checked: JSON, format, every field, and the cells' checksum."""
    path = Path(path)
    if not path.is_file():
        raise BusbenchError(f"{path}: no such bundle; give files written by `busbench bundle`")
    not_a_bundle = f"{path}: not a bundle; give the .json files `busbench bundle RUN --out FILE.json` writes"
    try:
        raw = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if path.suffix != ".json":  # another file given by mistake (a CSV): remaking it as a bundle would overwrite it
            raise BusbenchError(not_a_bundle) from exc
        raise BusbenchError(f"{path}: damaged bundle (not valid JSON: {exc}); {remake(path)}") from exc
    found = raw.get("format") if isinstance(raw, dict) else None
    if found is None:
        raise BusbenchError(not_a_bundle)
    if found != BUNDLE_FORMAT:
        made = raw.get("created_by", {}).get("busbench") if isinstance(raw, dict) else None
        raise BusbenchError(f"{path}: bundle format {found!r} is not {BUNDLE_FORMAT!r} (written by busbench "
                            f"{made or 'unknown'}); {remake(path)}")
    try:
        bundle = Bundle.model_validate(raw)
    except ValidationError as exc:
        raise BusbenchError(f"{path}: damaged bundle ({validation_text(exc)}); {remake(path)}") from exc
    if canonical_sha256(raw["cells"]) != bundle.cells_sha256:
        raise BusbenchError(f"{path}: damaged bundle (its cells do not match cells_sha256: edited or cut); "
                            f"{remake(path)}")
    return bundle
