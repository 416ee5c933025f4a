"""Any folder of image/mask pairs: ``images/<stem>.png`` with ``masks/<stem><suffix>.png``.

Options: ``images_dir``, ``masks_dir``, ``mask_suffix`` (e.g. ``_mask``; extra masks
``<stem><suffix>_1`` are merged) and ``labels_csv``, a CSV beside the folders with columns
``image`` (file name or stem), ``label`` and optionally ``patient_id``. Without labels an image
is ``normal`` when its mask is empty and ``lesion`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, known_label, register_adapter
from busbench.data.adapters.pairing import image_files, pair_masks
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError


class FolderOptions(AdapterOptions):
    images_dir: str = "images"
    masks_dir: str = "masks"
    mask_suffix: str = ""
    labels_csv: str | None = None


def read_labels_csv(path: Path) -> pd.DataFrame:
    """Labels table indexed by image stem, with ``label`` and ``patient_id`` columns."""
    if not path.is_file():
        raise BusbenchError(f"{path}: labels_csv not found; give a path relative to --root or leave it unset")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("image", "label"):
        if column not in frame.columns:
            raise BusbenchError(f"{path}: column {column!r} missing; expected columns image,label[,patient_id]")
    if "patient_id" not in frame.columns:
        frame["patient_id"] = ""
    frame["stem"] = [Path(name).stem for name in frame["image"]]
    repeated = sorted(set(frame["stem"][frame["stem"].duplicated()]))
    if repeated:
        raise BusbenchError(f"{path}: images listed more than once: {repeated[:5]}; keep one row per image")
    return frame.set_index("stem")


@register_adapter("folder")
class FolderAdapter(DatasetAdapter):
    Options = FolderOptions

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        opts: FolderOptions = self.options  # type: ignore[assignment]
        images_dir, masks_dir = root / opts.images_dir, root / opts.masks_dir
        for folder, key in ((images_dir, "images_dir"), (masks_dir, "masks_dir")):
            if not folder.is_dir():
                raise BusbenchError(f"{folder}: not found; set -o {key}=... to the folder name under --root")
        labels = read_labels_csv(root / opts.labels_csv) if opts.labels_csv else None
        same_folder = images_dir.resolve() == masks_dir.resolve()
        files = image_files(images_dir, log)
        if same_folder:
            if not opts.mask_suffix:
                raise BusbenchError(
                    "images_dir and masks_dir are the same folder: set -o mask_suffix=_mask (or similar)"
                )
            masks = [f for f in files if opts.mask_suffix in f.stem]
            images = [f for f in files if opts.mask_suffix not in f.stem]
        else:
            images, masks = files, image_files(masks_dir, log)
        sources = []
        for image, image_masks in pair_masks(images, masks, opts.mask_suffix, log).items():
            label, patient = None, None
            if labels is not None:
                if image.stem not in labels.index:
                    log.drop(image, f"not listed in {opts.labels_csv}: label unknown")
                    continue
                raw = labels.loc[image.stem]
                label = known_label(raw["label"], image, str(opts.labels_csv), log)
                if label is None:
                    continue
                patient = raw["patient_id"] or None
            sources.append(CaseSource.from_files(root, image, image_masks, label, patient_id=patient))
        return sources
