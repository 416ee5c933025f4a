"""Altered copies of the real BUSI (renamed, re-encoded, resized, masks edited or merged), written in
BUSI's own layout under a test's tmp folder: what ``busbench verify`` must tell apart."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from real_data import real_dataset

from busbench.data.io import read_mask
from busbench.data.manifest import Manifest, load_manifest, natural_key
from busbench.data.prepare import prepare_dataset

BUSI = "Dataset_BUSI_with_GT"
DUPLICATES = ("malignant (145)", "benign (433)")  # byte-identical images of BUSI (its README)


@dataclass(frozen=True)
class Case:
    """One BUSI case as distributed: its class folder, image file and mask files."""

    case_id: str
    label: str
    image: Path
    masks: tuple[Path, ...]


def busi_cases() -> dict[str, Case]:
    """Every case of the real BUSI by case id (the image's stem)."""
    root = real_dataset(BUSI)
    cases = {}
    for label in ("benign", "malignant", "normal"):
        for image in (root / label).glob("*.png"):
            if "_mask" not in image.stem:
                masks = tuple(sorted(image.parent.glob(f"{image.stem}_mask*.png")))
                cases[image.stem] = Case(image.stem, label, image, masks)
    return cases


def subset(cases: dict[str, Case], per_label: int = 30) -> list[str]:
    """About 120 cases: every case with several masks, both known duplicates and the first
    ``per_label`` (natural order) of each class."""
    chosen = {cid for cid, case in cases.items() if len(case.masks) > 1} | set(DUPLICATES)
    for label in ("benign", "malignant", "normal"):
        ids = sorted((c for c in cases if cases[c].label == label), key=natural_key)
        chosen |= set(ids[:per_label])
    return sorted(chosen, key=natural_key)


def edit_right_half(lesion: np.ndarray) -> np.ndarray:
    """The lesion with its right half erased (a mask edited by hand)."""
    cols = np.flatnonzero(lesion.any(axis=0))
    edited = lesion.copy()
    edited[:, (cols[0] + cols[-1] + 1) // 2:] = False
    return edited


def pierce(lesion: np.ndarray) -> np.ndarray:
    """The lesion with a 3x3 hole at its centre: its box and area (nearly) unchanged, its pixels not."""
    rows, cols = np.flatnonzero(lesion.any(axis=1)), np.flatnonzero(lesion.any(axis=0))
    pierced = lesion.copy()
    row, col = (rows[0] + rows[-1]) // 2, (cols[0] + cols[-1]) // 2
    pierced[row - 1:row + 2, col - 1:col + 2] = False
    return pierced


def write_case(case: Case, out: Path, name: str | None = None, label: str | None = None, scale: float = 1.0,
               jpeg: int | None = None, merge_masks: bool = False,
               edit: Callable[[np.ndarray], np.ndarray] | None = None, png_compression: int | None = None) -> None:
    """Write ``case`` into ``out/<label>/`` as ``<name>.png`` (or .jpg) with its masks, altered as asked
    (``png_compression``: the same pixels re-saved at that zlib level); unaltered files are copied
    byte for byte."""
    folder = out / (label or case.label)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or case.case_id
    if scale == 1.0 and jpeg is None and png_compression is None:
        shutil.copyfile(case.image, folder / f"{name}.png")
    else:
        image = cv2.imread(str(case.image), cv2.IMREAD_UNCHANGED)
        height, width = image.shape[:2]
        size = (round(width * scale), round(height * scale))
        if scale != 1.0:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        params = ([cv2.IMWRITE_JPEG_QUALITY, jpeg] if jpeg is not None else
                  [cv2.IMWRITE_PNG_COMPRESSION, png_compression] if png_compression is not None else [])
        cv2.imwrite(str(folder / f"{name}{'.jpg' if jpeg is not None else '.png'}"), image, params)
    if scale == 1.0 and not merge_masks and edit is None:
        for mask in case.masks:
            shutil.copyfile(mask, folder / mask.name.replace(case.case_id, name, 1))
        return
    lesions = [read_mask(mask).lesion for mask in case.masks]
    groups = [np.logical_or.reduce(lesions)] if merge_masks else lesions
    for i, lesion in enumerate(groups):
        lesion = edit(lesion) if edit is not None else lesion
        written = lesion.astype(np.uint8) * 255
        if scale != 1.0:
            written = cv2.resize(written, (round(lesion.shape[1] * scale), round(lesion.shape[0] * scale)),
                                 interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(folder / f"{name}_mask{'' if i == 0 else f'_{i}'}.png"), written)


def write_foreign(out: Path, name: str, label: str, index: int) -> None:
    """A BUS-BRA image and its mask (empty for ``normal``) as a BUSI case ``name`` (an image no BUSI
    registry knows)."""
    root = real_dataset("BUSBRA")
    image = sorted((root / "Images").glob("bus_*.png"))[index]
    folder = out / label
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, folder / f"{name}.png")
    mask = root / "Masks" / image.name.replace("bus_", "mask_")
    if label == "normal":
        cv2.imwrite(str(folder / f"{name}_mask.png"), np.zeros_like(read_mask(mask).lesion, dtype=np.uint8))
    else:
        shutil.copyfile(mask, folder / f"{name}_mask.png")


def prepared(raw: Path, adapter: str = "busi", options: dict[str, object] | None = None) -> Manifest:
    """A copy written by ``write_case`` prepared beside it; BUSI's three class folders always exist."""
    for label in ("benign", "malignant", "normal"):
        (raw / label).mkdir(parents=True, exist_ok=True)
    out = raw.with_name(raw.name + "-prepared")
    prepare_dataset(adapter, raw, out, options)
    return load_manifest(out)


def classes(frame: pd.DataFrame) -> dict[str, int]:
    """Cases per class of a verification's frame."""
    return {str(k): int(v) for k, v in frame["class"].value_counts().items()}


def renamed_folder_copy(out: Path, seed: int = 7) -> dict[str, str]:
    """All of BUSI as a user's folder dataset (``images/case_NNNN.png``, ``masks/case_NNNN.png``, several
    masks merged into one), numbered in a shuffled order so no name says what the case was; returns
    new name -> BUSI case id."""
    cases = busi_cases()
    order = np.random.default_rng(seed).permutation(len(cases))
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    made = {}
    for number, case in zip(order, cases.values()):
        name = f"case_{number:04d}"
        shutil.copyfile(case.image, out / "images" / f"{name}.png")
        union = np.logical_or.reduce([read_mask(mask).lesion for mask in case.masks])
        cv2.imwrite(str(out / "masks" / f"{name}.png"), union.astype(np.uint8) * 255)
        made[name] = case.case_id
    return made


def layout_copy(out: Path, **alteration: object) -> dict[str, str]:
    """All of BUSI in its own layout, every case altered alike (``write_case``'s options); returns
    case id -> BUSI case id (the same)."""
    for case in busi_cases().values():
        write_case(case, out, **alteration)  # type: ignore[arg-type]
    return {case_id: case_id for case_id in busi_cases()}


def busi_subset_copy(out: Path, per_label: int) -> Path:
    """A BUSI copy of ``subset(per_label)``'s cases, files copied byte for byte; returns ``out``."""
    cases = busi_cases()
    for case_id in subset(cases, per_label):
        write_case(cases[case_id], out)
    return out


def busbra_subset_copy(out: Path, count: int) -> Path:
    """A BUS-BRA copy in its own layout holding its first ``count`` cases (rows of bus_data.csv, the
    official fold files cut to them); returns ``out``."""
    root = real_dataset("BUSBRA")
    table = pd.read_csv(root / "bus_data.csv").head(count)
    for sub in ("Images", "Masks"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for case in table["ID"]:
        shutil.copyfile(root / "Images" / f"{case}.png", out / "Images" / f"{case}.png")
        mask = f"{case.replace('bus_', 'mask_', 1)}.png"
        shutil.copyfile(root / "Masks" / mask, out / "Masks" / mask)
    table.to_csv(out / "bus_data.csv", index=False)
    for folds in ("5-fold-cv.csv", "10-fold-cv.csv"):
        listed = pd.read_csv(root / folds)
        listed[listed["ID"].isin(set(table["ID"]))].to_csv(out / folds, index=False)
    return out
