"""The notes every table of a run states about how its split deviates from the fair protocol."""

from __future__ import annotations

import pytest

from busbench.config import load_config
from busbench.evaluate.protocol import LEAKY_SPLIT_NOTE, protocol_notes


def _notes(*overrides: str) -> list[str]:
    cfg = load_config(None, list(overrides))
    return protocol_notes(cfg.split, cfg.model, cfg.eval, cfg.input)


def test_the_default_split_needs_no_note() -> None:
    assert _notes() == []


@pytest.mark.parametrize(("override", "named"), [
    ("split.reviewed_links=false", "split.reviewed_links=false: busbench's reviewed duplicate pairs"),
    ("split.near_duplicate_inliers=60",
     "near-duplicate detector not the calibrated one (split.near_duplicate_inliers=60)"),
    ("split.near_duplicate_correlation=0.99", "(split.near_duplicate_correlation=0.99)"),
])
def test_a_loosened_duplicate_search_is_named(override: str, named: str) -> None:
    # a split that keeps fewer duplicates together is no longer the calibrated protocol: its tables say so
    notes = _notes(override)
    assert len(notes) == 1 and notes[0].startswith("OVERRIDE: ") and named in notes[0]


def test_a_split_without_a_search_is_not_named_for_one() -> None:
    # the image-level split states its own leak; a registry and the official partition make no duplicate search
    assert _notes("split.protocol=image_level", "split.reviewed_links=false") == [LEAKY_SPLIT_NOTE]
    assert _notes("split.official=true", "split.reviewed_links=false") == []
    assert _notes("split.registry=busi-v1") == []
