"""The user's links file (``split.links_file``, ``--links-file``): pairs of images that must, or must never,
share a side of a split, named by case id or by pixel hash so that a lab can share them with users of a
renamed copy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from busbench.data.csv_files import read_csv_with_columns
from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError

MUST_LINK_VALUE = "must-link"
CANNOT_LINK_VALUE = "cannot-link"
PIXEL_HASH = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class UserLinks:
    """Pairs the user says must (or must never) share a side, from ``split.links_file``."""

    must_link: list[tuple[str, str]] = field(default_factory=list)
    cannot_link: list[tuple[str, str]] = field(default_factory=list)
    sha256: str | None = None


def _case_ids_of(value: str, ids: set[str], by_pixels: dict[str, list[str]]) -> list[str]:
    """The cases a links-file entry names: a case id, or every case whose pixel hash it is; [] if none."""
    if value in ids:
        return [value]
    return by_pixels.get(value.lower(), []) if PIXEL_HASH.fullmatch(value) else []


def read_user_links(path: str | Path | None, manifest: Manifest) -> UserLinks:
    """The link file's pairs, by the manifest's case ids.

    An entry of ``case_a``/``case_b`` is a case id or a ``pixel_sha256`` (64 hex digits: the hash
    of the decoded image, the same whatever the file's name or encoding), so a lab can share its
    must-link and cannot-link lists with users of a renamed copy. A hash that several cases share
    (one image filed twice) names them all: the pair is made with each.
    """
    if path is None:
        return UserLinks()
    path = Path(path)
    table = read_csv_with_columns(path, "split.links_file (--links-file)", ("case_a", "case_b", "relation"),
                          f"case_a, case_b, relation ({MUST_LINK_VALUE} or {CANNOT_LINK_VALUE})")
    pixels_of = dict(zip(manifest.frame["case_id"], manifest.frame["pixel_sha256"]))
    ids = set(pixels_of)
    by_pixels: dict[str, list[str]] = {}
    for case_id, pixels in pixels_of.items():
        by_pixels.setdefault(pixels, []).append(case_id)
    unknown = sorted(v for v in set(table["case_a"]) | set(table["case_b"]) if not _case_ids_of(v, ids, by_pixels))
    if unknown:
        raise BusbenchError(f"{path}: {unknown[:5]} are not in {manifest.path}; name each case by its case_id or "
                            "by its pixel_sha256 (64 hex digits, the same on a renamed copy at the same "
                            "resolution), both columns of that manifest")
    relations = set(table["relation"]) - {MUST_LINK_VALUE, CANNOT_LINK_VALUE}
    if relations:
        raise BusbenchError(f"{path}: relation {sorted(relations)} unknown; use {MUST_LINK_VALUE} or "
                            f"{CANNOT_LINK_VALUE}")
    pairs: dict[str, list[tuple[str, str]]] = {MUST_LINK_VALUE: [], CANNOT_LINK_VALUE: []}
    for a, b, relation in zip(table["case_a"], table["case_b"], table["relation"]):
        pairs[relation] += [(min(x, y), max(x, y)) for x in _case_ids_of(a, ids, by_pixels)
                            for y in _case_ids_of(b, ids, by_pixels)]
    pairs = {relation: sorted(found) for relation, found in pairs.items()}
    both = set(pairs[MUST_LINK_VALUE]) & set(pairs[CANNOT_LINK_VALUE])
    if both:
        raise BusbenchError(f"{path}: pairs {sorted(both)[:3]} are both must-link and cannot-link; keep one")
    identical = [(a, b) for a, b in pairs[CANNOT_LINK_VALUE] if pixels_of[a] == pixels_of[b]]
    if identical:  # one image filed twice is no wrong link: cutting it would put a test image in training
        raise BusbenchError(f"{path}: cannot-link pairs {identical[:3]} are identical images (one pixel_sha256), "
                            "which a split always keeps on one side; remove those rows from the links file")
    return UserLinks(pairs[MUST_LINK_VALUE], pairs[CANNOT_LINK_VALUE], file_sha256(path))
