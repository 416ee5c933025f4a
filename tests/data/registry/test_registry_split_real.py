"""`busbench split --registry busi-v1` gives every copy of BUSI the same roles: as shipped,
renamed into a folder dataset, re-saved with other PNG compression, down-scaled by 2, and
enlarged and JPEG-encoded as a stand-in for the full-size originals. The ground truth is how each
copy was made (``busi_copies``): every case must be keyed to the BUSI case it came from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from busi_copies import layout_copy, renamed_folder_copy
from real_data import real_dataset

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.assign import plan_registry_split
from busbench.data.registry.record import Registry, load_registry
from busbench.data.split.record import TEST, Split

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
