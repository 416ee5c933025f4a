"""Per-part counts of a split, printed by `busbench split` so its balance can be seen at once."""

from __future__ import annotations

import pandas as pd

from busbench.data.duplicates.reviewed import reviewed_duplicates
from busbench.data.labels import LABELS
from busbench.data.manifest import Manifest
from busbench.data.split.record import TEST, Split
from busbench.data.split.stratify import SIZE_BINS
from busbench.log import counted


def split_summary(split: Split, manifest: Manifest) -> pd.DataFrame:
    """One row per part (test, fold 1..k): images, labels, size bins, patients, and the groups
    of several images (patients or duplicates) and groups holding exact or near duplicates."""
    roles = split.cases_frame().set_index("case_id")
    frame = manifest.frame.set_index("case_id").join(roles)
    frame["part"] = [TEST if s == TEST else f"fold {int(f)}" for s, f in zip(frame["set"], frame["fold"])]
    frame["size"] = [s.split("/")[1] if "/" in s else "-" for s in frame["stratum"]]
    group_sizes = frame["group"].map(frame["group"].value_counts())
    rows = []
    for part, sub in frame.groupby("part", sort=False):
        row: dict[str, object] = {"part": part, "images": len(sub)}
        row.update({label: int((sub["label"] == label).sum()) for label in LABELS if (frame["label"] == label).any()})
        row.update({size: int((sub["size"] == size).sum()) for size in SIZE_BINS})
        patients = sub["patient_id"][sub["patient_id"] != ""]
        row["patients"] = patients.nunique() if len(patients) else "-"
        row["multi-image groups"] = int(sub.loc[group_sizes[sub.index] > 1, "group"].nunique())
        row["duplicate groups"] = int(sub.loc[sub["duplicate"], "group"].nunique())
        rows.append(row)
    order = [TEST] + [f"fold {k}" for k in range(1, split.folds + 1)]
    return pd.DataFrame(rows).set_index("part").loc[[p for p in order if p in {r["part"] for r in rows}]]


def _parts(split: Split) -> pd.DataFrame:
    """The split's cases with their part: "test" or "fold k" (a test case's fold is empty, and NaN must not
    hide it from a count)."""
    roles = split.cases_frame()
    roles["part"] = [TEST if s == TEST else f"fold {int(f)}" for s, f in zip(roles["set"], roles["fold"])]
    return roles


def groups_across_parts(split: Split) -> int:
    """How many leakage groups have images in more than one part (0 for a computed split)."""
    return int((_parts(split).groupby("group")["part"].nunique() > 1).sum())


def pairs_across_parts(split: Split, pairs: list[tuple[str, str]]) -> list[str]:
    """Each pair of ``pairs`` (case ids of the split) whose two images sit in different parts, as
    "a (part) / b (part)": a registry's roles are fixed, so pairs known after it was made can cross."""
    roles = _parts(split)
    part = dict(zip(roles["case_id"], roles["part"]))
    return [f"{a} ({part[a]}) / {b} ({part[b]})" for a, b in pairs if a in part and b in part and part[a] != part[b]]


def registry_crossing_warnings(split: Split, manifest: Manifest) -> list[str]:
    """A warning naming busbench's reviewed duplicate pairs that a registry's fixed roles put in two parts
    (pairs reviewed after the registry was cut); none for a split busbench computed, which keeps them whole."""
    if split.registry is None:
        return []
    crossing = pairs_across_parts(split, reviewed_duplicates(manifest))
    if not crossing:
        return []
    return [f"warning: registry {split.registry.name} puts {counted(len(crossing), 'pair')} of busbench's reviewed "
            f"duplicates in two parts: {'; '.join(crossing)}. Its roles are fixed, so they stay there; results on it "
            "can be slightly optimistic (docs/registry.md)"]
