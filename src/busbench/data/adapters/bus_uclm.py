"""BUS-UCLM: Vallez et al., "BUS-UCLM: Breast ultrasound lesion segmentation dataset",
Scientific Data 12 (2025).

Layout: ``images/ALWI_000.png``, ``masks/ALWI_000.png`` and ``INFO.csv`` (``;``-separated, with a
UTF-8 byte-order mark; columns Image, Label (Normal/Benign/Malignant), Resolution, Doppler,
Marks, Combined). Masks are RGB, green lesion for benign and red for malignant, black for normal:
any lit pixel is lesion and the label comes from INFO.csv. The four letters before ``_`` name the
patient. Some images of the release are RGBA and of another size *and aspect ratio* than their
mask (another crop of the scan): ``prepare`` cannot map such a mask onto its image and drops the
case, logged in ``prepare_problems.csv``; in the release this removes every image of one patient.
Report the exclusion with results on BUS-UCLM.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, known_label, register_adapter
from busbench.data.adapters.pairing import by_name, choose_images, image_files
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

INFO = "INFO.csv"
META_COLUMNS = {"Resolution": "resolution", "Doppler": "doppler", "Marks": "marks", "Combined": "combined"}


def _read_info(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BusbenchError(f"{path}: BUS-UCLM's INFO.csv is missing; it ships with the dataset, restore it")
    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip() for c in frame.columns]
    for column in ("Image", "Label"):
        if column not in frame.columns:
            raise BusbenchError(
                f"{path}: column {column!r} missing (found {list(frame.columns)}); expected ';'-separated"
            )
    frame["Image"] = frame["Image"].str.strip()
    return frame.set_index("Image")


@register_adapter("bus_uclm", "BUS-UCLM")
class BusUclmAdapter(DatasetAdapter[AdapterOptions]):
    citation = "Vallez N. et al., Scientific Data 12 (2025)"

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        for sub in ("images", "masks"):
            if not (root / sub).is_dir():
                raise BusbenchError(f"{root / sub}: not found; --root must hold images/, masks/ and INFO.csv")
        info = _read_info(root / INFO)
        masks = {m.name: m for m in image_files(root / "masks", log)}
        images = by_name(image_files(root / "images", log), lambda image: image.stem)
        sources = []
        for image in choose_images(images, by_name(list(masks.values()), lambda mask: mask.stem), log).values():
            mask = masks.pop(image.name, None)
            if image.name not in info.index:
                log.drop(image, "not listed in INFO.csv: label unknown")
                continue
            row = info.loc[image.name]
            label = known_label(row["Label"], image, "INFO.csv (Label)", log)
            if label is None:
                continue
            case = CaseSource.from_files(root, image, [mask] if mask else [], label,
                                         patient_id=image.stem.split("_")[0])
            sources.append(replace(case, meta={name: row[col] for col, name in META_COLUMNS.items()
                                               if col in info.columns}))
        for orphan in masks.values():
            log.drop(orphan, "mask without image: no images/ file of this name")
        return sources
