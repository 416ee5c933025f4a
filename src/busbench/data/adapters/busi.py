"""BUSI: Al-Dhabyani et al., "Dataset of breast ultrasound images", Data in Brief 28 (2020) 104863.

Layout: ``Dataset_BUSI_with_GT/{benign,malignant,normal}/benign (12).png`` with the mask
``benign (12)_mask.png`` in the same folder and, for images with several lesions, extra masks
``_mask_1``, ``_mask_2``: the lesion is their union. Patients are not given. A case whose mask
series has a gap (``_mask_1`` without ``_mask``, ``_mask_2`` without ``_mask_1``) lost part of its
lesion: it is dropped and logged unless ``-o allow_mask_gaps=true``.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, register_adapter
from busbench.data.adapters.pairing import image_files, log_unknown_folders, pair_masks
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

FOLDER = "Dataset_BUSI_with_GT"
CLASSES = ("benign", "malignant", "normal")
MASK_SUFFIX = "_mask"
# The folder adapter's options that read a copy without normal/ with its classes (docs/registry.md).
_WITHOUT_NORMAL = (r"-o image_regex='(?P<label>benign|malignant)/(?P<id>[^/]+ \(\d+\))\.png' "
                   r"-o mask_regex='(benign|malignant)/(?P<id>[^/]+ \(\d+\))_mask(_\d)?\.png'")


class BusiOptions(AdapterOptions):
    allow_mask_gaps: bool = False


@register_adapter("busi", "BUSI")
class BusiAdapter(DatasetAdapter[BusiOptions]):
    citation = "Al-Dhabyani W. et al., Data in Brief 28 (2020) 104863"
    Options = BusiOptions

    @classmethod
    def listing_order(cls, root: Path) -> list[Path]:
        """Awesome-BUS's order (data/prepare_datasets.py): the class folders benign, malignant, normal,
        each in directory order (``Path.glob("*.png")``, i.e. ``os.scandir``), masks skipped. Directory
        order is the file system's, so a split made this way is frozen in its split file."""
        base = root / FOLDER if (root / FOLDER).is_dir() else root
        return [Path(entry.path) for label in CLASSES for entry in os.scandir(base / label)
                if entry.name.endswith(".png") and MASK_SUFFIX not in Path(entry.name).stem]

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        base = root / FOLDER if (root / FOLDER).is_dir() else root
        missing = [c for c in CLASSES if not (base / c).is_dir()]
        if missing == ["normal"]:
            raise BusbenchError(
                f"{base}: no normal/ folder (a circulating copy of BUSI drops the normal class); download the "
                "full dataset, or read this copy with the folder adapter: busbench prepare folder --root "
                f"{shlex.quote(str(base))} --out DIR {_WITHOUT_NORMAL} (docs/registry.md)"
            )
        if missing:
            raise BusbenchError(
                f"{base}: BUSI class folders {missing} not found; --root must be {FOLDER}/ "
                "(or its parent) holding benign/, malignant/ and normal/"
            )
        log_unknown_folders(base, CLASSES, log)
        allow_gaps = self.options.allow_mask_gaps
        sources = []
        for label in CLASSES:
            files = image_files(base / label, log)
            masks = [f for f in files if MASK_SUFFIX in f.stem]
            images = [f for f in files if MASK_SUFFIX not in f.stem]
            for image, image_masks in pair_masks(images, masks, MASK_SUFFIX, log, allow_gaps).items():
                sources.append(CaseSource.from_files(root, image, image_masks, label))
        return sources
