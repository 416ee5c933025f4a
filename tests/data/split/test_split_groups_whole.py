"""read_split's group check reads back the splits busbench writes whose groups cross parts by design: the
image-level protocol and the dataset's own partition (a hand-edited grouped split is refused: test_split.py,
and here a link naming no case of the split)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.split.split_file import SplitSettings, plan_split, read_split, split_bytes, write_split
from busbench.data.split.summary import groups_across_parts
from busbench.errors import BusbenchError


def test_an_image_level_split_whose_copies_cross_parts_is_read_back(synthetic_manifest: Manifest,
                                                                     tmp_path: Path) -> None:
    split = plan_split(synthetic_manifest, SplitSettings(folds=3, protocol="image_level"))
    assert groups_across_parts(split) > 0  # the leak this protocol reproduces
    write_split(split, tmp_path / "split.json")
    assert read_split(tmp_path / "split.json", synthetic_manifest) == split


def test_an_official_partition_that_cuts_groups_is_read_back(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    """BUS-BRA's own 5-fold partition puts three reviewed duplicate groups in two folds; its split must still load."""
    copy_dir = tmp_path / "manifest"
    copy_dir.mkdir()
    (copy_dir / "manifest.json").write_text((synthetic_manifest.path.parent / "manifest.json").read_text())
    frame = pd.read_csv(synthetic_manifest.path, dtype=str, keep_default_na=False)
    frame["official_fold"] = [str(1 + i % 3) for i in range(len(frame))]  # copies and a patient's views apart
    frame.to_csv(copy_dir / "manifest.csv", index=False)
    partitioned = load_manifest(copy_dir)
    split = plan_split(partitioned, SplitSettings(official=True))
    assert groups_across_parts(split) > 0
    write_split(split, tmp_path / "split.json")
    assert read_split(tmp_path / "split.json", partitioned) == split


def test_a_duplicate_link_naming_no_case_of_the_split_is_refused_naming_the_file(synthetic_manifest: Manifest,
                                                                                 tmp_path: Path) -> None:
    """A hand-edited link (a case renamed) was a KeyError traceback, not a line naming the file."""
    document = json.loads(split_bytes(plan_split(synthetic_manifest, SplitSettings(folds=3))))
    document["duplicate_links"][0][0] = "renamed"
    path = tmp_path / "split.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BusbenchError, match=rf"^{path}: its duplicate links name renamed, which is not among its "
                                            "cases; the file was edited"):
        read_split(path, synthetic_manifest)
