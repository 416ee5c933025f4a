"""The image-level split reproduces Awesome-BUS's test set and folds, and is recorded as leaky.

The oracle is the reference code's own procedure, written here as it is written there
(``data/prepare_datasets.py`` of Jonghwan-dev/Awesome-Segmentation-in-Medical): a DataFrame built
from ``Path.glob`` over the class folders (or from ``bus_data.csv``'s rows), ``train_test_split`` on
its index, and ``StratifiedKFold`` on the training rows in index order.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from busbench.data.manifest import Manifest
from busbench.data.split.record import Split
from busbench.data.split.split_file import SplitSettings, plan_split, split_file_name
from busbench.errors import BusbenchError


def _reference_split(rows: list[dict[str, str]]) -> dict[str, str]:
    """image path -> "test" or the fold number, as the reference's split_and_save assigns them."""
    df = pd.DataFrame(rows).reset_index(drop=True)
    train_idx, test_idx = train_test_split(df.index, test_size=0.2, stratify=df["label"], random_state=42)
    df.loc[train_idx, "split"] = "train"
    df.loc[test_idx, "split"] = "test"
    train_df_idx = df[df["split"] == "train"].index
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
    for fold, (_, val) in enumerate(skf.split(train_df_idx, df.loc[train_df_idx, "label"]), 1):
        df.loc[train_df_idx[val], "split"] = str(fold)
    return dict(zip(df["image_path"], df["split"]))


def _ours(manifest: Manifest) -> dict[str, str]:
    document = plan_split(manifest, SplitSettings(protocol="image_level"))
    paths = dict(zip(manifest.frame["case_id"], manifest.frame["image_path"]))
    return {str(manifest.root / paths[c.case_id]): "test" if c.set == "test" else str(c.fold)
            for c in document.cases}


def test_busi_matches_awesome_bus(busi_manifest: Manifest) -> None:
    root = busi_manifest.root
    rows = []
    for label in ["benign", "malignant", "normal"]:
        for img_path in (root / label).glob("*.png"):
            if "_mask" in img_path.stem or not sorted((root / label).glob(f"{img_path.stem}_mask*.png")):
                continue
            rows.append({"label": label, "image_path": str(img_path)})
    reference = _reference_split(rows)
    ours = _ours(busi_manifest)
    assert len(reference) == len(ours) == 780
    assert {p for p, s in ours.items() if s == "test"} == {p for p, s in reference.items() if s == "test"}
    assert ours == reference  # folds too
    # the directory order matters: the same calls on sorted rows hold out other images
    resorted = _reference_split(sorted(rows, key=lambda r: r["image_path"]))
    assert {p for p, s in resorted.items() if s == "test"} != {p for p, s in reference.items() if s == "test"}


def test_busbra_matches_awesome_bus(busbra_manifest: Manifest) -> None:
    root = busbra_manifest.root
    table = pd.read_csv(root / "bus_data.csv")
    rows = [{"label": str(r["Pathology"]).lower(), "image_path": str(root / "Images" / f"{r['ID']}.png")}
            for _, r in table.iterrows()]
    assert _ours(busbra_manifest) == _reference_split(rows)


def test_image_level_split_is_recorded_and_leaks(synthetic_manifest: Manifest) -> None:
    grouped = plan_split(synthetic_manifest, SplitSettings(folds=3))
    leaky = plan_split(synthetic_manifest, SplitSettings(folds=3, protocol="image_level"))
    assert leaky.settings["protocol"] == "image_level" and "protocol" not in grouped.settings
    assert (leaky.protocol, grouped.protocol) == ("image_level", "grouped")
    assert split_file_name(SplitSettings(folds=3, protocol="image_level")) != split_file_name(SplitSettings(folds=3))

    def straddling(document: Split) -> int:
        cases = document.cases_frame().fillna({"fold": 0})
        return int((cases.groupby("group")["fold"].nunique() > 1).sum())

    assert straddling(grouped) == 0
    assert straddling(leaky) > 0  # the generator's near-copies cross sides


def test_official_and_image_level_do_not_combine(synthetic_manifest: Manifest) -> None:
    with pytest.raises(BusbenchError, match="split.protocol=image_level"):
        plan_split(synthetic_manifest, SplitSettings(official=True, protocol="image_level"))


def test_too_few_images_per_label(synthetic_manifest: Manifest, tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match="lower split.folds"):
        plan_split(synthetic_manifest, SplitSettings(folds=40, protocol="image_level"))
