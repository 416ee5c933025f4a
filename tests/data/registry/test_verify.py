"""`busbench verify`'s classes on altered copies of the real BUSI against the shipped busi-v1: each
alteration must land in its class, counted exactly, the rest of the registry ``missing``."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from busi_copies import (
    DUPLICATES,
    Case,
    busi_cases,
    classes,
    edit_right_half,
    pierce,
    prepared,
    subset,
    write_case,
    write_foreign,
)
from mask_tolerance import boxed, fitted_ellipse, grown

from busbench.data.manifest import Manifest
from busbench.data.registry.record import Registry, load_registry
from busbench.data.registry.verify import RESULT_COLUMNS, Verification, verify_copy
from busbench.errors import BusbenchError

TOTAL = 780


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry("busi-v1")[0]


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return busi_cases()


@pytest.fixture(scope="module")
def chosen(cases: dict[str, Case]) -> list[str]:
    return subset(cases)


def _verify(registry: Registry, manifest: Manifest) -> Verification:
    result = verify_copy(registry, manifest.frame, str(manifest.path))
    frame = result.cases
    assert list(frame.columns) == RESULT_COLUMNS
    registry_ids = frame.loc[frame["registry_case_id"] != "", "registry_case_id"]
    copy_ids = frame.loc[frame["copy_case_id"] != "", "copy_case_id"]
    assert sorted(registry_ids) == sorted(registry.frame()["case_id"])  # every registry case once
    assert sorted(copy_ids) == sorted(manifest.frame["case_id"])  # every copy case once
    return result


def _class_of(result: Verification, copy_id: str) -> str:
    return str(result.cases.set_index("copy_case_id").at[copy_id, "class"])


def test_an_unaltered_subset_is_exact_and_the_rest_missing(tmp_path: Path, registry: Registry,
                                                           cases: dict[str, Case], chosen: list[str]) -> None:
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy")
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(chosen), "missing": TOTAL - len(chosen)}
    assert not result.agrees and result.notes == []


def test_renamed_files_are_renamed_even_when_they_take_an_absent_case_s_name(
        tmp_path: Path, registry: Registry, cases: dict[str, Case], chosen: list[str]) -> None:
    absent = next(c for c in cases if c.startswith("benign") and c not in chosen)
    renames = {chosen[0]: "benign (1001)", chosen[1]: "benign (1002)", chosen[2]: absent}
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", name=renames.get(cid))
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(chosen) - 3, "renamed": 3, "missing": TOTAL - len(chosen)}
    rows = result.cases.set_index("copy_case_id")
    assert rows.at["benign (1001)", "registry_case_id"] == chosen[0]
    assert rows.at[absent, "registry_case_id"] == chosen[2]
    assert result.cases.set_index("registry_case_id").at[absent, "class"] == "missing"


def test_a_jpeg_copy_is_resampled(tmp_path: Path, registry: Registry, cases: dict[str, Case],
                                  chosen: list[str]) -> None:
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", jpeg=60)
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"resampled": len(chosen), "missing": TOTAL - len(chosen)}
    assert set(result.cases.loc[result.cases["class"] == "resampled", "detail"]) == {"image re-encoded"}


def test_a_downscaled_copy_is_resampled_and_an_edited_mask_changed(
        tmp_path: Path, registry: Registry, cases: dict[str, Case], chosen: list[str]) -> None:
    edited = next(c for c in chosen if c.startswith("malignant") and len(cases[c].masks) == 1)
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", scale=0.5, edit=edit_right_half if cid == edited else None)
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"resampled": len(chosen) - 1, "changed": 1, "missing": TOTAL - len(chosen)}
    assert _class_of(result, edited) == "changed"
    assert "the mask differs" in result.cases.set_index("copy_case_id").at[edited, "detail"]


def test_masks_redrawn_then_shrunk_by_a_pixel_are_changed(tmp_path: Path, registry: Registry, cases: dict[str, Case],
                                                           chosen: list[str]) -> None:
    """A copy one pixel smaller whose masks were grown by 2 px, boxed or replaced by an ellipse: lesion boxes
    within 2 % of the image and areas within a third (the old tolerance) took them for resampled."""
    dilated, box, ellipse = [c for c in chosen if c.startswith("malignant") and len(cases[c].masks) == 1][:3]
    edits = {dilated: lambda lesion: grown(lesion, 2), box: boxed, ellipse: fitted_ellipse}
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", scale=255 / 256, edit=edits.get(cid))
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"resampled": len(chosen) - 3, "changed": 3, "missing": TOTAL - len(chosen)}
    assert {_class_of(result, cid) for cid in edits} == {"changed"}


def test_an_edited_mask_at_the_registry_s_resolution_is_changed(
        tmp_path: Path, registry: Registry, cases: dict[str, Case], chosen: list[str]) -> None:
    edited, pierced = [c for c in chosen if c.startswith("benign") and len(cases[c].masks) == 1][:2]
    edits = {edited: edit_right_half, pierced: pierce}
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", edit=edits.get(cid))
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(chosen) - 2, "changed": 2, "missing": TOTAL - len(chosen)}
    assert _class_of(result, edited) == _class_of(result, pierced) == "changed"


def test_removed_foreign_and_replaced_images(tmp_path: Path, registry: Registry, cases: dict[str, Case],
                                             chosen: list[str]) -> None:
    removed, replaced = chosen[10:14], chosen[20]
    for cid in chosen:
        if cid not in removed and cid != replaced:
            write_case(cases[cid], tmp_path / "copy")
    for i, name in enumerate(("benign (9001)", "benign (9002)", "malignant (9003)")):
        write_foreign(tmp_path / "copy", name, name.split()[0], i)
    write_foreign(tmp_path / "copy", replaced, cases[replaced].label, 5)
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(chosen) - 5, "changed": 1, "extra": 3,
                                     "missing": TOTAL - len(chosen) + 4}
    row = result.cases.set_index("copy_case_id").loc[replaced]
    assert (row["class"], row["registry_case_id"], row["detail"]) == ("changed", replaced, "same name, another image")
    assert _class_of(result, "benign (9001)") == "extra"
    assert set(result.cases.loc[result.cases["class"] == "missing", "registry_case_id"]) >= set(removed)


def test_a_name_taken_by_a_foreign_image_while_its_content_is_renamed_is_changed(
        tmp_path: Path, registry: Registry, cases: dict[str, Case], chosen: list[str]) -> None:
    moved = chosen[0]
    for cid in chosen:
        write_case(cases[cid], tmp_path / "copy", name="benign (1001)" if cid == moved else None)
    write_foreign(tmp_path / "copy", moved, cases[moved].label, 0)
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(chosen) - 1, "renamed": 1, "changed": 1,
                                     "missing": TOTAL - len(chosen)}
    row = result.cases.set_index("copy_case_id").loc[moved]
    assert (row["class"], row["registry_case_id"]) == ("changed", "")
    assert "benign (1001)" in row["detail"]


def test_quirks_masks_merged_deduplicated_duplicated_and_relabelled(
        tmp_path: Path, registry: Registry, cases: dict[str, Case], chosen: list[str]) -> None:
    merged = [cid for cid in chosen if len(cases[cid].masks) > 1]
    relabelled = next(c for c in chosen if c.startswith("benign") and c not in merged and c not in DUPLICATES)
    for cid in chosen:
        if cid != DUPLICATES[1]:
            write_case(cases[cid], tmp_path / "copy", merge_masks=cid in merged,
                       label="malignant" if cid == relabelled else None)
    write_case(cases[relabelled], tmp_path / "copy", name="benign (5000)")  # the same file twice
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert len(merged) == 17
    assert classes(result.cases) == {"exact": len(chosen) - 1, "extra": 1, "missing": TOTAL - len(chosen) + 1}
    assert _class_of(result, "benign (5000)") == "extra"
    assert len(result.notes) == 4
    assert result.notes[0].startswith("masks merged: 17 cases with one mask file here, several in the registry (")
    assert result.notes[1].startswith(f"de-duplicated: 1 case missing with the pixels of a case you have "
                                      f"({DUPLICATES[1]})")
    assert result.notes[2].startswith("duplicated files: 1 case extra with the pixels of a case you have "
                                      "(benign (5000))")
    assert result.notes[3].startswith(f"relabelled: 1 case with another label here than in the registry "
                                      f"({relabelled})")


def test_a_copy_without_the_normal_class_is_noted(tmp_path: Path, registry: Registry, cases: dict[str, Case],
                                                  chosen: list[str]) -> None:
    kept = [cid for cid in chosen if cases[cid].label != "normal"]
    for cid in kept:
        write_case(cases[cid], tmp_path / "copy")
    manifest = prepared(tmp_path / "copy", "folder", {
        "image_regex": r"(benign|malignant)/(?P<id>[^/]+ \(\d+\))\.png",
        "mask_regex": r"(benign|malignant)/(?P<id>[^/]+ \(\d+\))_mask(_\d)?\.png"})
    result = _verify(registry, manifest)
    normal = int((registry.frame()["label"] == "normal").sum())
    assert classes(result.cases) == {"exact": len(kept), "missing": TOTAL - len(kept)}
    assert result.notes == [f"class dropped: 'normal' ({normal} cases) missing entirely. A circulating copy of BUSI "
                            "drops 'normal'; the registry's test set holds such cases: download the full dataset"]


def test_a_class_of_other_images_is_no_dropped_class(tmp_path: Path, registry: Registry, cases: dict[str, Case],
                                                     chosen: list[str]) -> None:
    kept = [cid for cid in chosen if cases[cid].label != "normal"]
    for cid in kept:
        write_case(cases[cid], tmp_path / "copy")
    for i in range(2):
        write_foreign(tmp_path / "copy", f"normal ({900 + i})", "normal", i)
    result = _verify(registry, prepared(tmp_path / "copy"))
    assert classes(result.cases) == {"exact": len(kept), "extra": 2, "missing": TOTAL - len(kept)}
    assert result.notes == []


def test_the_full_jpeg_copy_is_resampled_and_agrees(tmp_path: Path, registry: Registry,
                                                    cases: dict[str, Case]) -> None:
    for case in cases.values():
        write_case(case, tmp_path / "copy", jpeg=60)
    manifest = prepared(tmp_path / "copy")
    started = time.perf_counter()
    result = _verify(registry, manifest)
    print(f"verify of the full BUSI JPEG copy: {time.perf_counter() - started:.2f} s")
    assert classes(result.cases) == {"resampled": TOTAL}
    assert result.agrees and result.counts() == {"resampled": TOTAL}


def test_the_shipped_copy_is_exact(busi_manifest: Manifest, registry: Registry) -> None:
    result = _verify(registry, busi_manifest)
    assert classes(result.cases) == {"exact": TOTAL} and result.agrees


def test_another_dataset_is_refused(busbra_manifest: Manifest, registry: Registry) -> None:
    started = time.perf_counter()
    with pytest.raises(BusbenchError, match=r"only 0 of its 1875 cases match registry busi-v1, made for busi"):
        verify_copy(registry, busbra_manifest.frame, "busbra")
    print(f"verify of BUS-BRA against busi-v1: {time.perf_counter() - started:.2f} s")


@pytest.mark.parametrize(("busi", "busbra", "refused"), [(10, 10, False), (9, 11, True)])
def test_half_of_the_copy_must_match(busi_manifest: Manifest, busbra_manifest: Manifest, registry: Registry,
                                     busi: int, busbra: int, refused: bool) -> None:
    frame = pd.concat([busi_manifest.frame.iloc[:busi], busbra_manifest.frame.iloc[:busbra]], ignore_index=True)
    if refused:
        with pytest.raises(BusbenchError, match=f"only {busi} of its 20 cases"):
            verify_copy(registry, frame, "mixed")
    else:
        assert classes(verify_copy(registry, frame, "mixed").cases) == {"exact": busi, "extra": busbra,
                                                                       "missing": TOTAL - busi}
