"""Duplicate groups and label conflicts, from the same links the split uses.

A group is a connected component of ``leakage_groups``; one made only of same-patient links is a
patient's views, not a duplicate, and is only counted. A label conflict is a duplicate link (exact
or near) between two cases with different labels: the same picture taught as two answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from busbench.data.duplicates.links import DuplicateSettings, duplicate_links
from busbench.data.manifest import Manifest
from busbench.data.split.grouping import PATIENT, leakage_groups


@dataclass(frozen=True)
class DuplicateView:
    """Duplicate groups (one row per case), every duplicate link, conflicts, patient-only groups."""

    groups: pd.DataFrame  # group, case_id, label
    links: pd.DataFrame  # group, case_a, case_b, measure, value
    conflicts: pd.DataFrame  # case_a, label_a, case_b, label_b, measure, value
    patient_only_groups: int


def duplicate_view(manifest: Manifest, settings: DuplicateSettings | None = None) -> DuplicateView:
    frame = manifest.frame
    found = leakage_groups(frame, duplicate_links(manifest, settings or DuplicateSettings()))
    group_of = dict(zip(frame["case_id"], found.labels))
    label_of = dict(zip(frame["case_id"], frame["label"]))
    links = found.links.copy()
    links["group"] = [int(group_of[a]) for a in links["case_a"]]
    duplicate = links[links["measure"] != PATIENT]
    dup_groups = sorted(set(duplicate["group"]))
    number = {g: n for n, g in enumerate(dup_groups, start=1)}
    members = frame.assign(group=[number.get(int(group_of[c]), 0) for c in frame["case_id"]])
    members = members[members["group"] > 0][["group", "case_id", "label"]].sort_values(["group", "case_id"])
    shown = links[links["group"].isin(dup_groups)].assign(group=lambda d: d["group"].map(number))
    multi = pd.Series(found.labels).value_counts()
    patient_only = sum(1 for g, n in multi.items() if n > 1 and g not in number)
    conflicts = duplicate.assign(label_a=duplicate["case_a"].map(label_of), label_b=duplicate["case_b"].map(label_of))
    conflicts = conflicts[conflicts["label_a"] != conflicts["label_b"]]
    return DuplicateView(
        members.reset_index(drop=True),
        shown[["group", "case_a", "case_b", "measure", "value"]].sort_values(["group", "case_a", "case_b"])
        .reset_index(drop=True),
        conflicts[["case_a", "label_a", "case_b", "label_b", "measure", "value"]].reset_index(drop=True),
        patient_only)
