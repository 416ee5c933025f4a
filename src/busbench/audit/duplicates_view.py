"""Duplicate groups, label and mask conflicts, from the same links the split uses.

The links are those recorded in the split files beside the manifest (detected, reviewed and the
user's must-links, after the user's cannot-links), so the audit shows exactly what the split kept
together; without a split file (or beside splits made from a registry only, which ran no duplicate
search and record no links) they are found as ``busbench split`` would with its defaults
(detector plus busbench's reviewed duplicates). A group is a connected component of
``leakage_groups``; one made only of same-patient links is a patient's views, not a duplicate, and
is only counted. A label conflict is a duplicate link (exact or near) between two cases with
different labels; a mask conflict is a pair of identical images whose masks differ: the same
picture taught as two answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from busbench.data.duplicates.links import IDENTICAL, LINK_COLUMNS, duplicate_links
from busbench.data.duplicates.reviewed import reviewed_duplicates
from busbench.data.manifest import Manifest, case_row
from busbench.data.split.grouping import PATIENT, leakage_groups
from busbench.data.split.split_file import SPLIT_FILES, SplitSettings, read_split

MASK_CONFLICT_COLUMNS = ["case_a", "case_b", "differing_pixels"]


@dataclass(frozen=True)
class DuplicateView:
    """Duplicate groups (one row per case), every duplicate link, conflicts, patient-only groups."""

    groups: pd.DataFrame  # group, case_id, label
    links: pd.DataFrame  # group, case_a, case_b, measure, value
    conflicts: pd.DataFrame  # case_a, label_a, case_b, label_b, measure, value
    mask_conflicts: pd.DataFrame  # case_a, case_b, differing_pixels (fraction of the mask)
    patient_only_groups: int
    linked_images: int  # images with at least one duplicate link (not counting same-patient views)


def split_links(manifest: Manifest) -> pd.DataFrame:
    """The duplicate links of every split file beside the manifest, or, with none (split files made
    from a registry record no links), the links a default ``busbench split`` would use."""
    # a split made from a registry ran no duplicate search and records no links: it cannot show the copies
    splits = [split for split in (read_split(path, manifest) for path in sorted(manifest.path.parent.glob(SPLIT_FILES)))
              if split.registry is None]
    if splits:
        links = pd.DataFrame([link for split in splits for link in split.duplicate_links], columns=LINK_COLUMNS)
    else:
        defaults = SplitSettings()
        groups = leakage_groups(manifest.frame, duplicate_links(manifest, defaults.duplicates),
                                reviewed=reviewed_duplicates(manifest) if defaults.reviewed_links else [])
        links = groups.links[groups.links["measure"] != PATIENT]
    # one row per pair: what the detector measured comes before "reviewed duplicate" or a must-link
    pair = [frozenset(p) for p in zip(links["case_a"], links["case_b"])]
    return links[~pd.Series(pair, index=links.index).duplicated()].reset_index(drop=True)


def _mask_conflicts(manifest: Manifest, identical: pd.DataFrame) -> pd.DataFrame:
    rows = manifest.frame.set_index("case_id", drop=False)
    found = []
    for a, b in zip(identical["case_a"], identical["case_b"]):
        mask_a, mask_b = manifest.lesion(case_row(rows, a)), manifest.lesion(case_row(rows, b))
        if mask_a.shape != mask_b.shape:
            found.append((a, b, 1.0))
        elif (mask_a != mask_b).any():
            found.append((a, b, round(float(np.mean(mask_a != mask_b)), 6)))
    return pd.DataFrame(found, columns=MASK_CONFLICT_COLUMNS)


def duplicate_view(manifest: Manifest) -> DuplicateView:
    frame = manifest.frame
    found = leakage_groups(frame, split_links(manifest))
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
        _mask_conflicts(manifest, duplicate[duplicate["measure"] == IDENTICAL]),
        patient_only, len(set(duplicate["case_a"]) | set(duplicate["case_b"])))
