"""The audit on inputs the planted dataset does not cover: images smaller than their masks, a split with
the user's own links, whose groups the audit must show, and a split made from a registry, which records no links."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from planted import SIDE, make_planted

from busbench.audit.build import run_audit
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.build import build_registry
from busbench.data.registry.planning import plan, split_name
from busbench.data.registry.record import registry_bytes
from busbench.data.split.split_file import SplitSettings, plan_split, write_split


def _prepared(tmp_path: Path, shrink: bool = False) -> Path:
    make_planted(tmp_path / "raw")
    if shrink:  # images at half the size of their masks, as some datasets ship them
        for path in (tmp_path / "raw" / "images").glob("*.png"):
            with Image.open(path) as image:
                small = image.resize((image.width // 2, image.height // 2), Image.Resampling.BOX)
            small.save(path)
    prepare_dataset("folder", tmp_path / "raw", tmp_path / "data", {"labels_csv": "labels.csv"})
    return tmp_path / "data"


def test_images_smaller_than_their_masks_are_fitted_as_prepare_does(tmp_path: Path) -> None:
    data = _prepared(tmp_path, shrink=True)
    manifest = load_manifest(data)
    assert manifest.frame["image_resized_to_mask"].astype(bool).all()
    audit = run_audit(data)
    masks = pd.read_csv(audit.out / "masks.csv").set_index("case_id")
    assert (masks["width"].loc[["orig", "tiny"]] == SIDE).all()  # the mask's geometry, not the image's
    assert (audit.out / "audit.html").is_file() and any((audit.out / "sheets").glob("*.png"))


def test_identical_pixels_with_two_masks_is_a_mask_conflict(tmp_path: Path) -> None:
    audit = run_audit(_prepared(tmp_path))
    conflicts = pd.read_csv(audit.out / "mask_conflicts.csv")
    assert conflicts[["case_a", "case_b"]].values.tolist() == [["copy", "orig"]]
    assert 0 < conflicts["differing_pixels"].item() < 0.2
    summary = pd.read_csv(audit.out / "summary.csv").set_index("finding")
    assert summary.loc["mask conflicts", "count"] == 1
    # two linked images; the patient's two views are not copies
    assert summary.loc["duplicate groups", "meaning"].startswith("2 images have an exact or near copy")


def test_the_audit_groups_what_the_split_kept_together(tmp_path: Path) -> None:
    data = _prepared(tmp_path)
    links = tmp_path / "links.csv"
    links.write_text("case_a,case_b,relation\nborder,tiny,must-link\n")
    manifest = load_manifest(data)
    write_split(plan_split(manifest, SplitSettings(test_size=0.2, folds=2, seed=0, links_file=str(links))),
                data / "split.json")
    audit = run_audit(data)
    groups = pd.read_csv(audit.out / "duplicate_groups.csv")
    group_of = dict(zip(groups["case_id"], groups["group"]))
    assert group_of["border"] == group_of["tiny"] and group_of["orig"] == group_of["copy"]
    measures = set(pd.read_csv(audit.out / "duplicate_links.csv")["measure"])
    assert measures == {"identical pixels", "must-link (user file)"}
    assert np.array_equal(sorted(group_of), sorted(["border", "tiny", "orig", "copy"]))


def test_a_split_made_from_a_registry_still_shows_the_copies(tmp_path: Path) -> None:
    """The README's path (`split --registry`, then `audit`): a registry split runs no duplicate search and
    records no links, so the audit searches as a default split does; the identical pair with two masks and two
    labels stays a mask and a label conflict (it read 0 of each)."""
    data = _prepared(tmp_path)
    manifest = load_manifest(data)
    registry_file = tmp_path / "planted-v1.json"
    registry_file.write_bytes(registry_bytes(build_registry(
        manifest, plan_split(manifest, SplitSettings(test_size=0.2, folds=2, seed=0)), "planted-v1", "test")))
    settings = SplitSettings(registry=str(registry_file))
    split = plan(manifest, settings)
    assert split.registry is not None and split.duplicate_links == ()
    write_split(split, data / split_name(manifest, settings))
    audit = run_audit(data)
    assert pd.read_csv(audit.out / "mask_conflicts.csv")[["case_a", "case_b"]].values.tolist() == [["copy", "orig"]]
    labels = pd.read_csv(audit.out / "label_conflicts.csv")
    assert sorted(labels[["case_a", "case_b"]].values.ravel()) == ["copy", "orig"]
    assert len(list(audit.out.glob("balance_split-registry-planted-v1-*.csv"))) == 1  # the split is still read
