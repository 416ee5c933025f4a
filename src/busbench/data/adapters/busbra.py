"""BUS-BRA: Gómez-Flores et al., "BUS-BRA: A breast ultrasound dataset for assessing
computer-aided diagnosis systems", Medical Physics 51 (2024).

Layout: ``BUSBRA/Images/bus_0001-l.png``, ``Masks/mask_0001-l.png``, ``bus_data.csv`` (ID,
Case = patient, Histology, Pathology, BIRADS, Device, Width, Height, Side, BBOX) and the
authors' patient-wise partitions ``5-fold-cv.csv`` / ``10-fold-cv.csv`` (column kFold: the fold
in which an image is tested). The 5-fold partition becomes the manifest's ``official_fold``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, known_label, register_adapter
from busbench.data.adapters.pairing import by_name, choose_images, image_files
from busbench.data.csv_files import read_csv_with_columns
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

FOLDER = "BUSBRA"
META_COLUMNS = {"Histology": "histology", "BIRADS": "birads", "Device": "device", "Side": "side",
                "Width": "original_width", "Height": "original_height"}


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    return read_csv_with_columns(path, "BUS-BRA's own file", tuple(columns), ", ".join(columns),
                                 "it ships with the dataset, restore it").set_index("ID")


@register_adapter("busbra", "BUS-BRA")
class BusBraAdapter(DatasetAdapter[AdapterOptions]):
    citation = "Gómez-Flores W. et al., Medical Physics 51 (2024)"

    @classmethod
    def listing_order(cls, root: Path) -> list[Path]:
        """Awesome-BUS's order (data/prepare_datasets.py): the rows of bus_data.csv."""
        base = root / FOLDER if (root / FOLDER).is_dir() else root
        return [base / "Images" / f"{case}.png" for case in _read_csv(base / "bus_data.csv", ["ID"]).index]

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        base = root / FOLDER if (root / FOLDER).is_dir() else root
        for sub in ("Images", "Masks"):
            if not (base / sub).is_dir():
                raise BusbenchError(f"{base / sub}: not found; --root must be the BUSBRA/ folder (or its parent)")
        table = _read_csv(base / "bus_data.csv", ["ID", "Case", "Pathology"])
        folds5 = _read_csv(base / "5-fold-cv.csv", ["ID", "kFold"])["kFold"]
        folds10 = _read_csv(base / "10-fold-cv.csv", ["ID", "kFold"])["kFold"]
        masks = {m.stem.removeprefix("mask_"): m for m in image_files(base / "Masks", log)}
        images = by_name(image_files(base / "Images", log), lambda image: image.stem.removeprefix("bus_"))
        sources = []
        for number, image in choose_images(images, {k: [m] for k, m in masks.items()}, log).items():
            key = image.stem
            mask = masks.pop(number, None)
            if key not in table.index:
                log.drop(image, "not listed in bus_data.csv: label and patient unknown")
                continue
            info = table.loc[key]
            label = known_label(info["Pathology"], image, "bus_data.csv (Pathology)", log)
            if label is None:
                continue
            meta = {name: info[col] for col, name in META_COLUMNS.items() if col in table.columns}
            meta["official_fold_10"] = folds10.get(key, "")
            fold = folds5.get(key, "")
            case = CaseSource.from_files(root, image, [mask] if mask else [], label, patient_id=str(info["Case"]))
            sources.append(replace(case, official_fold=int(fold) if fold else None, meta=meta))
        for orphan in masks.values():
            log.drop(orphan, "mask without image: no Images/bus_*.png of this name")
        return sources
