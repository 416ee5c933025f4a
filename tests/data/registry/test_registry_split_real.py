"""`busbench split --registry busi-v1` gives every copy of BUSI the same roles: as shipped,
renamed into a folder dataset, re-saved with other PNG compression, down-scaled by 2, and
enlarged and JPEG-encoded as a stand-in for the full-size originals. The ground truth is how each
copy was made (``busi_copies``): every case must be keyed to the BUSI case it came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import pandas as pd
import pytest
from busi_copies import busi_cases, edit_right_half, layout_copy, prepared, renamed_folder_copy, write_case
from real_data import real_dataset

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.assign import plan_registry_split
from busbench.data.registry.record import Registry, load_registry
from busbench.data.split.record import TEST, Split
from busbench.errors import BusbenchError

BUSI = "Dataset_BUSI_with_GT"


def _copy(tmp: Path, kind: str) -> tuple[Manifest, dict[str, str]]:
    raw = tmp / "raw"
    writers: dict[str, Callable[[], dict[str, str]]] = {
        "renamed": lambda: renamed_folder_copy(raw),
        "recompressed": lambda: layout_copy(raw, png_compression=0),
        "half": lambda: layout_copy(raw, scale=0.5),
        "enlarged_jpeg": lambda: layout_copy(raw, scale=2.3, jpeg=85),
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


@pytest.mark.parametrize(("fixture", "name", "test_cases"), [
    ("busi_manifest", "busi-v1", 156), ("busbra_manifest", "busbra-v1", 375),
    ("busbra_manifest", "busbra-official-v1", 376)])
def test_the_shared_copies_match_the_shipped_registries_exactly(request: pytest.FixtureRequest, fixture: str,
                                                               name: str, test_cases: int) -> None:
    manifest: Manifest = request.getfixturevalue(fixture)
    found, _, sha256 = load_registry(name)
    split = plan_registry_split(manifest, found, sha256, mismatch=False)
    assert split.registry is not None and split.registry.complete
    assert split.registry.case_keys == {c: c for c in manifest.frame["case_id"]}
    cases = found.frame().set_index("case_id").loc[manifest.frame["case_id"]]
    assert cases["pixel_sha256"].tolist() == manifest.frame["pixel_sha256"].tolist()  # exact hashes at 256 px
    assert cases["mask_sha256"].tolist() == manifest.frame["mask_sha256"].tolist()
    assert split.registry.test_set_sha256 == found.test_set_sha256
    assert _roles(split) == _registry_roles(found)
    assert len(split.held_out()) == test_cases


def test_the_official_busbra_registry_is_the_authors_partition() -> None:
    folds = pd.read_csv(real_dataset("BUSBRA") / "5-fold-cv.csv").set_index("ID")["kFold"]
    cases = load_registry("busbra-official-v1")[0].frame().set_index("case_id")
    assert sorted(cases.index[cases["part"] == TEST]) == sorted(folds.index[folds == 1])
    development = cases[cases["part"] != TEST]
    assert (development["fold"].astype(int) + 1).to_dict() == folds.loc[development.index].to_dict()


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


def _busi_copy(raw: Path, ids: list[str], **altered: Callable[[Path], None]) -> Manifest:
    """Those BUSI cases copied unaltered, then each ``altered`` writer run on the copy's folder."""
    cases = busi_cases()
    for case_id in ids:
        write_case(cases[case_id], raw)
    for write in altered.values():
        write(raw)
    return prepared(raw)


def test_a_test_case_with_another_mask_is_refused_even_where_mismatches_are_allowed(tmp_path: Path) -> None:
    registry, _, sha256 = load_registry("busi-v1")
    roles = registry.frame().set_index("case_id")
    edited = "benign (100)"
    assert roles.loc[edited, "part"] == TEST
    kept = ["benign (1)", "benign (2)", "malignant (1)"]
    copy = _busi_copy(tmp_path / "raw", kept, mask=lambda raw: write_case(busi_cases()[edited], raw,
                                                                         edit=edit_right_half))
    with pytest.raises(BusbenchError, match=r"1 case with a registry busi-v1 image but another mask "
                                            r"\(benign \(100\)\): their ground truth is not the registry's"):
        plan_registry_split(copy, registry, sha256, mismatch=True)


def test_an_extra_crop_of_a_test_image_is_refused_though_its_thumbnail_differs(tmp_path: Path) -> None:
    """A crop of 85 % of a test image's height: its thumbnail correlates below the thumbnail rule's 0.95 (0.90
    for this one), the keypoint search links it."""
    registry, _, sha256 = load_registry("busi-v1")
    case = busi_cases()["benign (100)"]

    def crop(raw: Path) -> None:
        image = cv2.imread(str(case.image), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(case.masks[0]), cv2.IMREAD_GRAYSCALE)
        rows = int(image.shape[0] * 0.85)
        cv2.imwrite(str(raw / "benign" / "benign (998).png"), image[:rows])
        cv2.imwrite(str(raw / "benign" / "benign (998)_mask.png"), mask[:rows])

    copy = _busi_copy(tmp_path / "raw", ["benign (100)", "benign (1)", "malignant (1)"], crop=crop)
    with pytest.raises(BusbenchError, match=r"benign \(998\): not in the registry, but near-duplicates of its test"):
        plan_registry_split(copy, registry, sha256, mismatch=True)
