"""A links file names a case by its case id or by its pixel hash, so a lab's must-link and
cannot-link lists work on a renamed copy of its dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from busbench.data.manifest import Manifest
from busbench.data.split.split_file import SplitSettings, plan_split
from busbench.data.split.user_links import read_user_links
from busbench.errors import BusbenchError


def _write(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    pd.DataFrame(rows, columns=["case_a", "case_b", "relation"]).to_csv(path, index=False)
    return path


def test_pixel_hashes_name_the_same_cases_as_case_ids(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    frame = synthetic_manifest.frame
    ids, pixels = frame["case_id"].tolist(), frame["pixel_sha256"].tolist()
    by_id = _write(tmp_path / "by_id.csv", [(ids[0], ids[1], "must-link"), (ids[2], ids[3], "cannot-link")])
    by_hash = _write(tmp_path / "by_hash.csv", [(pixels[0], pixels[1].upper(), "must-link"),
                                                (pixels[2], ids[3], "cannot-link")])
    named, hashed = read_user_links(by_id, synthetic_manifest), read_user_links(by_hash, synthetic_manifest)
    assert (hashed.must_link, hashed.cannot_link) == (named.must_link, named.cannot_link)
    assert hashed.must_link == [tuple(sorted(ids[:2]))]
    roles = {c.case_id: (c.set, c.fold) for c in plan_split(synthetic_manifest, SplitSettings(
        folds=3, links_file=str(by_hash))).cases}
    assert roles[ids[0]] == roles[ids[1]]


def test_a_hash_of_one_image_filed_twice_names_both_cases(tmp_path: Path) -> None:
    frame = pd.DataFrame({"case_id": ["a", "b", "c"], "pixel_sha256": ["1" * 64, "1" * 64, "2" * 64]})
    manifest = Manifest(tmp_path / "manifest.csv", frame, tmp_path, "0" * 64)
    links = read_user_links(_write(tmp_path / "links.csv", [("2" * 64, "1" * 64, "cannot-link")]), manifest)
    assert links.cannot_link == [("a", "c"), ("b", "c")] and links.must_link == []


def test_a_hash_of_no_case_is_named_with_what_to_use(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    a = synthetic_manifest.frame["case_id"].iloc[0]
    links = _write(tmp_path / "links.csv", [(a, "f" * 64, "must-link")])
    with pytest.raises(BusbenchError, match=f"links.csv: \\['{'f' * 64}'\\] are not in .*manifest.csv; name each "
                                            "case by its case_id or by its pixel_sha256"):
        read_user_links(links, synthetic_manifest)


def test_a_pair_both_must_link_and_cannot_link_is_named(tmp_path: Path) -> None:
    frame = pd.DataFrame({"case_id": ["a", "b", "c"], "pixel_sha256": ["1" * 64, "2" * 64, "3" * 64]})
    manifest = Manifest(tmp_path / "manifest.csv", frame, tmp_path, "0" * 64)
    links = _write(tmp_path / "links.csv", [("a", "b", "must-link"), ("b", "a", "cannot-link"),
                                            ("a", "c", "must-link")])
    with pytest.raises(BusbenchError, match=r"links.csv: pairs \[\('a', 'b'\)\] are both must-link and cannot-link; "
                                            "keep one"):
        read_user_links(links, manifest)


def test_a_cannot_link_pair_of_identical_images_is_refused(tmp_path: Path) -> None:
    # BUSI's malignant (145) and benign (433) are one image filed twice: cutting their link put them on both sides
    frame = pd.DataFrame({"case_id": ["a", "b", "c"], "pixel_sha256": ["1" * 64, "1" * 64, "2" * 64]})
    manifest = Manifest(tmp_path / "manifest.csv", frame, tmp_path, "0" * 64)
    for named in (("b", "a"), ("1" * 64, "1" * 64)):  # by case ids, or by the hash that names both copies
        links = _write(tmp_path / "links.csv", [(*named, "cannot-link")])
        with pytest.raises(BusbenchError, match=r"links.csv: cannot-link pairs \[.*\('a', 'b'\).*\] are identical "
                                                r"images \(one pixel_sha256\)"):
            read_user_links(links, manifest)
    kept = read_user_links(_write(tmp_path / "links.csv", [("a", "b", "must-link"), ("a", "c", "cannot-link")]),
                           manifest)
    assert kept.must_link == [("a", "b")] and kept.cannot_link == [("a", "c")]
