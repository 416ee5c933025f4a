"""BUSI repackaged as a user's folder dataset, every file renamed, split as a new user would: the
reviewed duplicates still apply (matched by content), so no near-duplicate pair lands in two parts.

Near duplicates are found here by a check of the test's own, not busbench's: 32x32 area-averaged
grey thumbnails, z-normalised, Pearson correlation of 0.95 or more.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from busbench.data.manifest import Manifest, load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.data.split.record import Split
from busbench.data.split.split_file import SplitSettings, plan_split

NEAR_DUPLICATE = 0.95
SIDE = 32


def _renamed_copy(busi: Manifest, order: np.ndarray, base: Path) -> Manifest:
    """BUSI as ``images/case_0001.png`` with ``masks/case_0001_mask.png`` (``_mask_1`` ... for extra
    masks), listed in a pairs CSV with labels, case ``n`` being BUSI's case ``order[n - 1]``. Files are
    symlinks to the shared data."""
    (base / "raw" / "images").mkdir(parents=True)
    (base / "raw" / "masks").mkdir()
    rows = []
    for number, i in enumerate(order, 1):
        case = busi.frame.iloc[i]
        name = f"case_{number:04d}"
        image = Path("images") / f"{name}.png"
        (base / "raw" / image).symlink_to(busi.image_file(case))
        masks = []
        for k, mask in enumerate(busi.mask_files(case)):
            masks.append(Path("masks") / f"{name}_mask{f'_{k}' if k else ''}.png")
            (base / "raw" / masks[-1]).symlink_to(mask)
        rows.append({"image": image.as_posix(), "mask": ";".join(m.as_posix() for m in masks), "label": case["label"]})
    pd.DataFrame(rows).to_csv(base / "raw" / "pairs.csv", index=False)
    prepare_dataset("folder", base / "raw", base / "manifest", {"name": "mybusi", "pairs_csv": "pairs.csv"})
    return load_manifest(base / "manifest")


@pytest.fixture(scope="module")
def renamed_busi(busi_manifest: Manifest, tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The cases numbered in a shuffled order, so that neither name nor order carries BUSI's own."""
    order = np.random.default_rng(26).permutation(len(busi_manifest.frame))
    return _renamed_copy(busi_manifest, order, tmp_path_factory.mktemp("renamed-busi"))


def _near_duplicate_pairs(manifest: Manifest) -> list[tuple[str, str, float]]:
    """Every pair of images whose 32x32 grey thumbnails correlate at ``NEAR_DUPLICATE`` or more."""
    thumbs = []
    for path in manifest.frame["image_path"]:
        grey = cv2.imread(str(manifest.root / path), cv2.IMREAD_GRAYSCALE).astype(np.float64)
        small = cv2.resize(grey, (SIDE, SIDE), interpolation=cv2.INTER_AREA).ravel()
        thumbs.append((small - small.mean()) / max(small.std(), 1e-9))
    z = np.array(thumbs)
    correlation = z @ z.T / z.shape[1]
    ids = manifest.frame["case_id"].tolist()
    i, j = np.nonzero(np.triu(correlation >= NEAR_DUPLICATE, k=1))
    return [(ids[a], ids[b], float(correlation[a, b])) for a, b in zip(i, j)]


def _apart(split: Split, pairs: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    part = {c.case_id: (c.set, c.fold) for c in split.cases}
    return [(a, b, c) for a, b, c in pairs if part[a] != part[b]]


@pytest.fixture(scope="module")
def renamed_split(renamed_busi: Manifest) -> Split:
    return plan_split(renamed_busi, SplitSettings())


def test_renamed_busi_keeps_every_near_duplicate_pair_in_one_part(busi_manifest: Manifest, renamed_busi: Manifest,
                                                                   renamed_split: Split) -> None:
    assert len(renamed_busi.frame) == 780
    pairs = _near_duplicate_pairs(renamed_busi)
    assert len(pairs) > 20  # the check finds BUSI's near duplicates at all
    original = {row.pixel_sha256 for row in renamed_busi.frame.itertuples()}
    assert len(original) == 779  # benign (433) and malignant (145) are one image
    apart = _apart(renamed_split, pairs)
    busi_name = dict(zip(busi_manifest.frame["pixel_sha256"], busi_manifest.frame["case_id"]))
    renamed_pixels = dict(zip(renamed_busi.frame["case_id"], renamed_busi.frame["pixel_sha256"]))
    assert apart == [], [(busi_name[renamed_pixels[a]], busi_name[renamed_pixels[b]], round(c, 3)) for a, b, c in apart]
    assert renamed_split.reviewed_links  # the shipped reviewed duplicates apply to the renamed copy


def test_busi_renamed_in_its_own_order_holds_out_the_same_images(busi_manifest: Manifest,
                                                                  tmp_path: Path) -> None:
    """Names alone do not change the split: numbered in BUSI's order, the copy holds out the same
    images. (A shuffled copy holds out others: groups are placed in a seeded order of their case
    order, so the split of a dataset is frozen in its split file, not a function of content.)"""
    in_order = _renamed_copy(busi_manifest, np.arange(len(busi_manifest.frame)), tmp_path)
    renamed_split, busi_split = plan_split(in_order, SplitSettings()), plan_split(busi_manifest, SplitSettings())

    def held_out_pixels(manifest: Manifest, split: Split) -> list[str]:
        return sorted(manifest.frame.set_index("case_id").loc[split.held_out(), "pixel_sha256"])

    assert held_out_pixels(in_order, renamed_split) == held_out_pixels(busi_manifest, busi_split)
    assert len(renamed_split.reviewed_links) == len(busi_split.reviewed_links) > 0
