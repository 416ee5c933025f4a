"""Mirrored copies and links across two datasets, on the real BUSI and BUS-BRA copies.

Seven mirrored copies of BUSI images (plain, and mirrored then cropped by 10 %: the most common
augmentation and re-export) are written beside a temporary copy of BUSI
(``benchmarks/mirrored_copies.py``); every one must be linked to its original while the reviewed
negatives stay unlinked. Across two datasets the keypoints need stronger evidence: pairs of
plainly different BUSI and BUS-BRA scans (viewed side by side: calipers and burnt-in text are what
matches) link as one dataset at the lowered minimum, never across the two.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from busbench.data.duplicates.links import MIRRORED, DuplicateSettings, cross_duplicate_links, duplicate_links
from busbench.data.duplicates.reviewed import reviewed_pairs
from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset

_spec = importlib.util.spec_from_file_location(
    "mirrored_copies", Path(__file__).resolve().parents[3] / "benchmarks" / "mirrored_copies.py")
assert _spec is not None and _spec.loader is not None
mirrored_copies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mirrored_copies)

# BUSI / BUS-BRA pairs of different scans with 7-8 keypoint inliers (calipers, "RT 9", "MAMA DIREITA")
DIFFERENT_SCANS = [("benign (309)", "bus_0136-r"), ("benign (373)", "bus_0361-r"), ("malignant (140)", "bus_0633-l"),
                   ("benign (106)", "bus_0256-r")]


@pytest.fixture(scope="module")
def with_mirrors(busi_manifest: Manifest,
                 tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, list[tuple[str, str, str]]]:
    base = tmp_path_factory.mktemp("busi_mirrored")
    pairs = mirrored_copies.write_busi_with_mirrors(busi_manifest.root, base / "raw")
    prepare_dataset("busi", base / "raw", base / "data")
    return load_manifest(base / "data"), pairs


@pytest.fixture(scope="module")
def mirror_links(with_mirrors: tuple[Manifest, list[tuple[str, str, str]]]) -> pd.DataFrame:
    return duplicate_links(with_mirrors[0], DuplicateSettings())


def _pairs(links: pd.DataFrame) -> dict[frozenset[str], str]:
    return {frozenset((a, b)): m for a, b, m in zip(links["case_a"], links["case_b"], links["measure"])}


def test_every_mirrored_copy_is_linked_to_its_original(with_mirrors: tuple[Manifest, list[tuple[str, str, str]]],
                                                       mirror_links: pd.DataFrame) -> None:
    _, pairs = with_mirrors
    found = _pairs(mirror_links)
    assert len(pairs) == 7 and {kind for *_, kind in pairs} == {"mirror", "mirror + crop"}
    for original, copy, kind in pairs:
        assert found.get(frozenset((original, copy)), "").endswith(MIRRORED), (original, copy, kind)


def test_mirrors_add_no_link_between_reviewed_negatives(mirror_links: pd.DataFrame) -> None:
    found = _pairs(mirror_links)
    negatives = reviewed_pairs().query("dataset == 'busi' and duplicate == 0")
    assert len(negatives) >= 30
    assert not [p for p in zip(negatives["case_a"], negatives["case_b"]) if frozenset(p) in found]
    mirrored = mirror_links[mirror_links["measure"].str.endswith(MIRRORED)]
    # measured 11: the 7 copies, and 4 links of a copy to a reviewed near-copy of its original
    assert len(mirrored) <= 12


def test_across_datasets_the_minimum_keypoint_evidence_does_not_link(busi_manifest: Manifest,
                                                                     busbra_manifest: Manifest) -> None:
    lowered = DuplicateSettings(near_duplicate_inliers=6)
    busi_ids, busbra_ids = [a for a, _ in DIFFERENT_SCANS], [b for _, b in DIFFERENT_SCANS]
    as_one = dataclasses.replace(busbra_manifest, frame=busbra_manifest.frame.assign(dataset="busi"))
    same_dataset = cross_duplicate_links(busi_manifest, busi_ids, as_one, busbra_ids, lowered)
    assert len(same_dataset) >= 3  # measured 4: what the stricter rule is there for
    assert cross_duplicate_links(busi_manifest, busi_ids, busbra_manifest, busbra_ids, lowered).empty


def test_across_datasets_mirrored_copies_still_link(with_mirrors: tuple[Manifest, list[tuple[str, str, str]]]) -> None:
    manifest, pairs = with_mirrors
    other = dataclasses.replace(manifest, frame=manifest.frame.assign(dataset="elsewhere"))
    originals, copies = [o for o, _, _ in pairs], [c for _, c, _ in pairs]
    links = cross_duplicate_links(manifest, originals, other, copies, DuplicateSettings())
    assert set(zip(links["case_a"], links["case_b"])) == {(o, c) for o, c, _ in pairs}
