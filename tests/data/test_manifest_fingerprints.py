"""A manifest prepared before busbench recorded content fingerprints still reads (its runs stay
reportable and can be bundled); building a registry from it or splitting it by one asks for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from busbench.data.manifest import FINGERPRINTS, Manifest, load_manifest
from busbench.data.registry.assign import plan_registry_split
from busbench.data.registry.build import build_registry
from busbench.data.registry.record import load_registry
from busbench.data.split.record import Split
from busbench.errors import BusbenchError


def older(manifest: Manifest, folder: Path) -> Manifest:
    """The manifest as busbench wrote it before fingerprints: without their columns."""
    shutil.copytree(manifest.path.parent, folder)
    frame = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=list(FINGERPRINTS)).to_csv(folder / "manifest.csv", index=False)
    return load_manifest(folder)


def test_an_older_manifest_reads_and_what_needs_fingerprints_asks_for_them(synthetic_manifest: Manifest,
                                                                          tmp_path: Path) -> None:
    manifest = older(synthetic_manifest, tmp_path / "old")
    assert len(manifest.frame) == len(synthetic_manifest.frame) and "thumbnail" not in manifest.frame
    with pytest.raises(BusbenchError, match=r"prepared before busbench recorded content fingerprints \(no mask_sha256, "
                                            r"thumbnail, lesion_box\), which `busbench registry build` needs"):
        build_registry(manifest, Split.model_construct(registry=None), "old-v1", "test")
    registry, _, sha256 = load_registry("busi-v1")
    with pytest.raises(BusbenchError, match="which a split from a registry needs; run `busbench prepare` again"):
        plan_registry_split(manifest, registry, sha256, mismatch=False)
