"""read_split's group check reads back the splits busbench writes whose groups cross parts by design: the
image-level protocol and the dataset's own partition (a hand-edited grouped split is refused: test_split.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.split.split_file import SplitSettings, plan_split, read_split, write_split
from busbench.data.split.summary import groups_across_parts


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
