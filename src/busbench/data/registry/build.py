"""``busbench registry build``: a lab publishes its split of a dataset as a registry, so that any
copy of the dataset gets the same test set and folds (``assign``)."""

from __future__ import annotations

import json

import pandas as pd

from busbench.data.manifest import Manifest
from busbench.data.registry.record import (
    COLUMNS,
    REGISTRY_FORMAT,
    Registry,
    registry_test_set_sha256,
    shipped_registries,
)
from busbench.data.split.record import CV, TEST, Split
from busbench.environment import git_commit
from busbench.errors import BusbenchError
from busbench.version import __version__


def _resolution(frame: pd.DataFrame) -> str:
    longest = frame[["width", "height"]].max(axis=1).astype(int)
    sides = f"{longest.min()}" if longest.min() == longest.max() else f"{longest.min()}-{longest.max()}"
    return (f"longest side {sides} px: copies at this resolution match by pixel hash, others by thumbnail "
            "(busbench verify says which)")


def build_registry(manifest: Manifest, split: Split, name: str, dataset_version: str,
                   description: str = "", split_file: str = "the split") -> Registry:
    """The registry of ``split`` (made on ``manifest``, read from ``split_file``): every case's role by
    its fingerprint."""
    if not name or any(c in name for c in "/\\ ") or name.startswith("."):
        raise BusbenchError(f"--name {name!r}: give a short name without spaces or slashes, e.g. mydata-v1")
    if name in shipped_registries():
        raise BusbenchError(f"--name {name}: the name of a registry busbench ships, which no other file may take; "
                            "give yours a name of its own, e.g. mydata-v1")
    if split.registry is not None:
        raise BusbenchError(f"{split_file}: made from registry {split.registry.name}; publish that registry "
                            "instead of a copy of it (`busbench registry list` shows the shipped ones), or "
                            "build from a split of your own (`busbench split DIR`, without --registry)")
    manifest.require_fingerprints("`busbench registry build`")
    frame = manifest.frame.set_index("case_id", drop=False)
    roles = split.cases_frame().set_index("case_id")
    cases = []
    for case_id in sorted(roles.index):
        case, role = frame.loc[case_id], roles.loc[case_id]
        part = TEST if role["set"] == TEST else CV
        cases.append({"case_id": case_id, "part": part, "fold": None if part == TEST else int(role["fold"]),
                      "group": int(role["group"]), "label": str(case["label"]), "width": int(case["width"]),
                      "height": int(case["height"]), "masks": len(json.loads(case["mask_paths"])),
                      **{column: str(case[column]) for column in ("pixel_sha256", "mask_sha256", "lesion_box",
                                                                  "thumbnail")}})
    test = [case["pixel_sha256"] for case in cases if case["part"] == TEST]
    return Registry.model_validate({
        "format": REGISTRY_FORMAT, "name": name, "dataset": manifest.dataset, "dataset_version": dataset_version,
        "description": description, "exact_hashes_at": _resolution(manifest.frame),
        "created_by": {"busbench": __version__, "commit": git_commit()},
        "settings": dict(split.settings), "folds": split.folds, "test_set_sha256": registry_test_set_sha256(test),
        "columns": list(COLUMNS), "cases": [tuple(case[column] for column in COLUMNS) for case in cases],
    })
