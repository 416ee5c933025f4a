"""The notes a bundle cell's config and rows imply, which a leaderboard states whatever the bundle's notes say.

A cell's notes (a leaky split, an override, a non-default HD95 convention, a run with folds left
untrained) are not part of its identity, so a bundle edited to drop one and resealed would hold
together. Its config and rows are: from them the leaderboard derives every note they imply
(``protocol_notes`` of the config, ``folds_note`` of the folds the rows hold against the split's
fold count) and adds those the bundle lacks, with a warning. The fold count is known from the config
where the split is the config's own (``split.folds``) or a shipped registry's; a split of the
dataset's official partition, of a pool or of a registry file not shipped keeps the bundle's note.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import ValidationError

from busbench.config import EvalConfig, InputConfig, ModelConfig, SplitConfig
from busbench.data.registry.record import load_registry, shipped_registries
from busbench.evaluate.aggregate import FOLD_MODELS
from busbench.evaluate.protocol import folds_note, protocol_notes
from busbench.log import counted
from busbench.report.bundle.record import BundleCell


def _split_folds(config: dict[str, Any]) -> int | None:
    """The fold count of the cell's split, where its config fixes it; None where the split's file does."""
    split, data = config.get("split", {}), config.get("data", {})
    if split.get("official") or data.get("pool"):
        return None
    if split.get("registry") is None:
        return int(split["folds"]) if "folds" in split else None
    if split["registry"] in shipped_registries():
        return load_registry(split["registry"])[0].folds
    return None


def _model(config: dict[str, Any]) -> ModelConfig:
    """The cell's model section without looking its name up: another lab's plugin need not be installed here,
    and the notes need only ``init_from`` and ``init_from_test_overlap``."""
    model = {key: value for key, value in config.get("model", {}).items() if key != "name"}
    return ModelConfig.model_validate(model)


def implied_notes(cell: BundleCell, frame: pd.DataFrame) -> tuple[list[str], str | None]:
    """The notes the cell's config and rows (``frame``: ``cell.frame()``) imply, and why the config's could not
    be derived (None when they were): a config this busbench cannot read, written by another version."""
    config, notes, unread = cell.config, [], None
    try:
        notes += protocol_notes(SplitConfig.model_validate(config.get("split", {})),
                                _model(config),
                                EvalConfig.model_validate(config.get("eval", {})),
                                InputConfig.model_validate(config.get("input", {})))
    except ValidationError as exc:
        unread = f"its config does not read in this busbench ({counted(exc.error_count(), 'setting')})"
    trained = frame.loc[frame["variant"] == FOLD_MODELS, "fold"].nunique()
    folds = _split_folds(config)
    if folds is not None and trained < folds:
        notes.append(folds_note(trained, folds))
    return notes, unread
