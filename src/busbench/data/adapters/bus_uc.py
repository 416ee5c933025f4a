"""BUS-UC: Ahmed Iqbal, Muhammad Sharif, "BUS-UC: breast ultrasound dataset for segmentation
and classification", Mendeley Data (2023), doi:10.17632/3ksd7w7jkx.1.

Layout: ``BUS_UC/{Benign,Malignant}/images/*.png`` with ``.../masks/<same name>``. Patients are
not given.
"""

from __future__ import annotations

from pathlib import Path

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, register_adapter
from busbench.data.adapters.pairing import image_files, log_unknown_folders, pair_masks
from busbench.data.labels import canonical_label
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

FOLDER = "BUS_UC"
CLASSES = ("Benign", "Malignant")


@register_adapter("bus_uc", "BUS-UC")
class BusUcAdapter(DatasetAdapter[AdapterOptions]):
    citation = "Iqbal A., Sharif M., Mendeley Data (2023), doi:10.17632/3ksd7w7jkx.1"

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        base = root / FOLDER if (root / FOLDER).is_dir() else root
        folders = [base / c / sub for c in CLASSES for sub in ("images", "masks")]
        missing = [str(f) for f in folders if not f.is_dir()]
        if missing:
            raise BusbenchError(f"BUS-UC folders not found: {missing}; --root must be {FOLDER}/ (or its parent)")
        log_unknown_folders(base, CLASSES, log)
        sources = []
        for label in CLASSES:
            log_unknown_folders(base / label, ("images", "masks"), log, "folder")
            images = image_files(base / label / "images", log)
            masks = image_files(base / label / "masks", log)
            for image, image_masks in pair_masks(images, masks, "", log).items():
                # The two class folders may reuse file names: the class keeps ids unique.
                sources.append(CaseSource.from_files(root, image, image_masks, canonical_label(label),
                                                     case_id=f"{label.lower()}_{image.stem}"))
        return sources
