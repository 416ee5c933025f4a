"""UDIAT "Dataset B": Yap et al., "Automated breast ultrasound lesions detection using
convolutional neural networks", IEEE J. Biomed. Health Inform. 22(4) (2018) 1218-1226.

Layout: ``original/000001.png`` with the mask ``GT/000001.png`` and labels in ``DatasetB.xlsx``
(columns Image, Type = Benign/Malignant). Excel may have stored the image names as numbers
(``1`` for ``000001``) and with or without extension: names are matched on their digits.
Patients are not given.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, known_label, register_adapter
from busbench.data.adapters.pairing import image_files, pair_masks
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

LABELS_FILE = "DatasetB.xlsx"


def _name_key(name: object) -> str:
    """Comparable key of an image name: the stem, without leading zeros when it is a number."""
    stem = Path(str(name).strip()).stem
    if stem.endswith(".0"):  # a number Excel turned into a float
        stem = stem[:-2]
    return str(int(stem)) if stem.isdigit() else stem


def _read_labels(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise BusbenchError(f"{path}: UDIAT label file missing; it ships with Dataset B, restore it")
    try:
        frame = pd.read_excel(path, dtype=str)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise BusbenchError(f"{path}: cannot read the workbook ({exc}); re-save it as .xlsx") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in ("Image", "Type"):
        if column not in frame.columns:
            raise BusbenchError(f"{path}: column {column!r} missing (found {list(frame.columns)})")
    return {_name_key(n): t for n, t in zip(frame["Image"], frame["Type"]) if str(n).strip() not in ("", "nan")}


@register_adapter("udiat", "UDIAT")
class UdiatAdapter(DatasetAdapter[AdapterOptions]):
    citation = "Yap M. H. et al., IEEE JBHI 22(4) (2018) 1218-1226"

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        for sub in ("original", "GT"):
            if not (root / sub).is_dir():
                raise BusbenchError(f"{root / sub}: not found; --root must hold original/, GT/ and {LABELS_FILE}")
        labels = _read_labels(root / LABELS_FILE)
        images = image_files(root / "original", log)
        paired = pair_masks(images, image_files(root / "GT", log), "", log)
        sources = []
        for image, masks in paired.items():
            raw = labels.get(_name_key(image.name))
            if raw is None:
                log.drop(image, f"not listed in {LABELS_FILE}: label unknown")
                continue
            label = known_label(raw, image, f"{LABELS_FILE} (Type)", log)
            if label is not None:
                sources.append(CaseSource.from_files(root, image, masks, label))
        return sources
