"""`busbench split --registry busi-v1` gives every copy of BUSI the same roles: as shipped,
renamed into a folder dataset, re-saved with other PNG compression, down-scaled by 2, and
enlarged and JPEG-encoded as a stand-in for the full-size originals. The ground truth is how each
copy was made (``busi_copies``): every case must be keyed to the BUSI case it came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from busi_copies import (
    busi_layout_copy,
    enlarge,
    enlarge_mask,
    half,
    half_mask,
    renamed_folder_copy,
    same,
)
from conftest import real_dataset

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.assign import plan_registry_split
from busbench.data.registry.record import Registry, load_registry
from busbench.data.split.record import TEST, Split

BUSI = "Dataset_BUSI_with_GT"


def _copy(tmp: Path, kind: str) -> tuple[Manifest, dict[str, str]]:
    root = real_dataset(BUSI)
    raw = tmp / "raw"
    writers: dict[str, Callable[[], dict[str, str]]] = {
        "renamed": lambda: renamed_folder_copy(root, raw),
        "recompressed": lambda: busi_layout_copy(root, raw, same, same, params=(cv2.IMWRITE_PNG_COMPRESSION, 0)),
        "half": lambda: busi_layout_copy(root, raw, half, half_mask),
        "enlarged_jpeg": lambda: busi_layout_copy(root, raw, enlarge, enlarge_mask, ".jpg",
                                                  (cv2.IMWRITE_JPEG_QUALITY, 85)),
    }
    made = writers[kind]()
    prepare_dataset("folder" if kind == "renamed" else "busi", raw, tmp / "prepared")
    return load_manifest(tmp / "prepared"), made


@pytest.fixture(scope="module")
def registry() -> tuple[Registry, str]:
    found, _, sha256 = load_registry("busi-v1")
    return found, sha256


def _roles(split: Split) -> dict[str, tuple[str, int | None, int]]:
    return {case.case_id: (case.set, case.fold, case.group) for case in split.cases}


def _registry_roles(registry: Registry) -> dict[str, tuple[str, int | None, int]]:
    frame = registry.frame()
    return {cid: ("test" if part == TEST else "cv", None if part == TEST else int(fold), int(group))
            for cid, part, fold, group in zip(frame["case_id"], frame["part"], frame["fold"], frame["group"])}


def test_the_shipped_copy_gets_the_registry_roles_exactly(busi_manifest: Manifest,
                                                          registry: tuple[Registry, str]) -> None:
    found, sha256 = registry
    split = plan_registry_split(busi_manifest, found, sha256, mismatch=False)
    assert split.registry is not None and split.registry.complete
    assert split.registry.test_set_sha256 == found.test_set_sha256
    assert _roles(split) == _registry_roles(found)
    assert len(split.held_out()) == 156 and split.folds == 5


@pytest.mark.parametrize("kind", ["renamed", "recompressed", "half", "enlarged_jpeg"])
def test_every_copy_gets_the_same_roles_by_content(tmp_path: Path, kind: str, registry: tuple[Registry, str]) -> None:
    found, sha256 = registry
    manifest, made = _copy(tmp_path, kind)
    split = plan_registry_split(manifest, found, sha256, mismatch=False)
    assert split.registry is not None
    assert split.registry.case_keys == made  # each case keyed to the BUSI case it was made from
    assert split.registry.test_set_sha256 == found.test_set_sha256
    expected = _registry_roles(found)
    assert {case: role for case, role in _roles(split).items()} == {case: expected[made[case]] for case in made}
