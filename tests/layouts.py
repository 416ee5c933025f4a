"""Builders of small datasets in the exact layouts their authors distribute, for adapter tests.

Image content comes from the synthetic generator; the file layout, modes and metadata files
follow each dataset's own conventions (and quirks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from busbench.data.synthetic import SyntheticCase, generate_cases


def cases(count: int, seed: int = 0, size: int = 40) -> list[SyntheticCase]:
    return generate_cases(count, size, seed, near_duplicate_rate=0.0)


def save(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)


def mask_u8(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.uint8) * 255


def coloured_mask(mask: np.ndarray, label: str) -> np.ndarray:
    rgb = np.zeros(mask.shape + (3,), dtype=np.uint8)
    rgb[mask, 1 if label == "benign" else 0] = 255
    return rgb


def make_bus_uclm(root: Path) -> dict[str, object]:
    """images/, masks/ (RGB colour-coded), INFO.csv with BOM and ';'. Returns expectations."""
    data = cases(6, seed=1)
    rows = []
    for i, case in enumerate(data):
        name = f"{['ALWI', 'BEKO', 'CAMU'][i // 2]}_{i:03d}.png"
        image = case.image
        if i == 1:  # the release's quirk: an RGBA image of another crop (size and aspect ratio) than its mask
            wide = np.array(Image.fromarray(image).resize((image.shape[1] * 2, image.shape[0] * 3 // 2)))
            image = np.dstack([wide] * 3 + [np.full(wide.shape, 255, np.uint8)])
        save(root / "images" / name, image)
        save(root / "masks" / name, coloured_mask(case.mask, case.label))
        rows.append((name, case.label.capitalize(), "0.1", "No", "No", "No"))
    table = pd.DataFrame(rows, columns=["Image", "Label", "Resolution", "Doppler", "Marks", "Combined"])
    text = table.to_csv(sep=";", index=False, lineterminator="\n")
    (root / "INFO.csv").write_bytes("\ufeff".encode() + text.encode())
    return {"cases": data, "names": [r[0] for r in rows], "dropped": rows[1][0]}


def make_bus_uc(root: Path) -> list[SyntheticCase]:
    """BUS_UC/{Benign,Malignant}/{images,masks}/ with shared file names across classes."""
    data = [c for c in cases(12, seed=2) if c.label != "normal"][:6]
    numbers = {"benign": 0, "malignant": 0}
    for case in data:
        numbers[case.label] += 1  # each class counts from 001: the same names occur in both
        folder = root / "BUS_UC" / case.label.capitalize()
        save(folder / "images" / f"{numbers[case.label]:03d}.png", case.image)
        save(folder / "masks" / f"{numbers[case.label]:03d}.png", mask_u8(case.mask))
    return data


def make_udiat(root: Path) -> list[SyntheticCase]:
    """original/, GT/ and DatasetB.xlsx whose Image column Excel stored as numbers."""
    data = [c for c in cases(12, seed=3) if c.label != "normal"][:5]
    for i, case in enumerate(data, start=1):
        save(root / "original" / f"{i:06d}.png", case.image)
        save(root / "GT" / f"{i:06d}.png", mask_u8(case.mask))
    frame = pd.DataFrame({"Image": list(range(1, len(data) + 1)), "Type": [c.label.capitalize() for c in data]})
    frame.to_excel(root / "DatasetB.xlsx", index=False)
    return data


def make_pairs(root: Path, data: list[SyntheticCase], mask_suffix: str = "") -> list[str]:
    """``images/<i>.png`` with ``masks/<i><mask_suffix>.png``; returns the image file names."""
    names = []
    for i, case in enumerate(data):
        save(root / "images" / f"img{i}.png", case.image)
        save(root / "masks" / f"img{i}{mask_suffix}.png", mask_u8(case.mask))
        names.append(f"img{i}.png")
    return names


def make_busi(root: Path, data: list[SyntheticCase]) -> Path:
    """Dataset_BUSI_with_GT/<class>/<class> (n).png + (n)_mask.png; 1-bit masks."""
    base = root / "Dataset_BUSI_with_GT"
    for label in ("benign", "malignant", "normal"):
        (base / label).mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(data, start=1):
        stem = f"{case.label} ({i})"
        save(base / case.label / f"{stem}.png", np.dstack([case.image] * 3))
        save(base / case.label / f"{stem}_mask.png", mask_u8(case.mask), mode="1")
    return base
