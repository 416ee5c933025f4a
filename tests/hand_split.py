"""A ``Split`` built by hand from a few (case id, set, fold, group) rows, for tests that need a
split whose every case they chose."""

from __future__ import annotations

from busbench.data.split.record import SPLIT_FORMAT, Split

Row = tuple[str, str, int | None, int]


def split_document(rows: list[Row], folds: int = 2) -> dict[str, object]:
    """The JSON of a split file holding ``rows``; other fields are placeholders."""
    cases = [{"case_id": c, "set": s, "fold": f, "group": g, "stratum": "benign/small", "duplicate": False}
             for c, s, f, g in rows]
    return {"format": SPLIT_FORMAT, "dataset": "hand", "manifest": {"file": "manifest.csv", "sha256": "0" * 64},
            "settings": {"seed": 0, "folds": folds}, "folds": folds, "size_tertiles": [0.01, 0.05],
            "duplicate_images": 0, "duplicate_links": [], "user_links": {"must-link": [], "cannot-link": []},
            "reviewed_links": [], "large_groups": [], "test_set_sha256": "1" * 64, "cases": cases}


def hand_split(rows: list[Row], folds: int = 2) -> Split:
    return Split.model_validate(split_document(rows, folds))
