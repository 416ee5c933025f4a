"""Groups of images that must stay on one side of every split.

Two images are linked when they share a patient or are duplicates (exact or near, see
``busbench.data.duplicates``), or when the user's link file says they must go together; a group
is a connected component of these links, so a chain of near-copies is one group. The user's
cannot-link pairs remove the detector's direct links between them; if they are still joined
through other images, that is an error naming the chain, since no split can honour both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

from busbench.data.duplicates.links import LINK_COLUMNS
from busbench.errors import BusbenchError

PATIENT = "same patient"
MUST_LINK = "must-link (user file)"
REVIEWED = "reviewed duplicate (busbench)"


@dataclass(frozen=True)
class LeakageGroups:
    """Group index per manifest row, whether each row has a duplicate, and every link used."""

    labels: np.ndarray
    duplicated: np.ndarray
    links: pd.DataFrame  # LINK_COLUMNS: the links that formed the groups


def patient_links(frame: pd.DataFrame) -> pd.DataFrame:
    """A link from each patient's first image to each of its others (``frame``: case_id, patient_id)."""
    rows = []
    first: dict[str, str] = {}
    for case_id, patient in zip(frame["case_id"], frame["patient_id"].astype(str)):
        if patient:
            anchor = first.setdefault(patient, case_id)
            if anchor != case_id:
                rows.append((anchor, case_id, PATIENT, 0.0))
    return pd.DataFrame(rows, columns=LINK_COLUMNS)


def _pair_set(pairs: list[tuple[str, str]]) -> set[frozenset[str]]:
    return {frozenset(p) for p in pairs}


def leakage_groups(frame: pd.DataFrame, duplicates: pd.DataFrame,
                   must_link: list[tuple[str, str]] | None = None,
                   cannot_link: list[tuple[str, str]] | None = None,
                   reviewed: list[tuple[str, str]] | None = None) -> LeakageGroups:
    """Connected components of patient, duplicate, reviewed and must-link links; a cannot-link pair
    cuts a detected or reviewed link between its two images.

    ``frame`` needs columns case_id and patient_id ("" when unknown); ``duplicates`` holds
    ``LINK_COLUMNS`` rows between its case ids; ``reviewed`` are known duplicate pairs.
    """
    ids = frame["case_id"].tolist()
    index = {c: i for i, c in enumerate(ids)}
    forbidden = _pair_set(cannot_link or [])
    user = pd.DataFrame([(a, b, MUST_LINK, 0.0) for a, b in must_link or []], columns=LINK_COLUMNS)
    known = pd.DataFrame([(a, b, REVIEWED, 0.0) for a, b in reviewed or []], columns=LINK_COLUMNS)
    # the user's cannot-link pairs cut what busbench found or knew, never the user's own must-links
    found = pd.concat([df for df in (duplicates, known) if len(df)] or [known], ignore_index=True)
    found = found[[frozenset((a, b)) not in forbidden for a, b in zip(found["case_a"], found["case_b"])]]
    links = pd.concat([df for df in (patient_links(frame), found, user) if len(df)] or [user], ignore_index=True)
    n = len(ids)
    rows = np.array([index[a] for a in links["case_a"]] + list(range(n)), dtype=np.int64)
    cols = np.array([index[b] for b in links["case_b"]] + list(range(n)), dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    for a, b in cannot_link or []:
        if labels[index[a]] == labels[index[b]]:
            _, predecessors = shortest_path(graph, directed=False, unweighted=True, indices=index[a],
                                            return_predecessors=True)
            chain, node = [b], index[b]
            while predecessors[node] >= 0 and node != index[a]:
                node = predecessors[node]
                chain.append(ids[node])
            raise BusbenchError(
                f"cannot-link pair ({a}, {b}) is still joined through {' - '.join(reversed(chain))}; add "
                "cannot-link pairs for the wrong links of that chain, or remove the pair from the link file")
    duplicated = np.zeros(n, dtype=bool)
    dup_rows = links[links["measure"] != PATIENT]
    duplicated[[index[c] for c in dup_rows["case_a"]] + [index[c] for c in dup_rows["case_b"]]] = True
    return LeakageGroups(labels.astype(np.int64), duplicated, links)
