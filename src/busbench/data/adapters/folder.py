"""Any folder of a user's own image/mask pairs, paired in one of four ways.

* by stem (default): ``images/<stem>.png`` with ``masks/<stem><mask_suffix>.png`` (options
  ``images_dir``, ``masks_dir``, ``mask_suffix``; extra masks ``<stem><suffix>_1`` are merged);
* by templates: ``-o image=images/{id}.png -o mask=masks/mask_{id}.png``, paths under --root in
  which ``{id}`` stands for the case id (one flat folder works too: ``image=Test_Image_{id}.png``);
* by regular expressions with a named group ``id``: ``image_regex``, ``mask_regex``, matched
  against whole paths under --root; several masks with one id are merged; a named group ``label``
  in ``image_regex`` reads the class from the path (``(?P<label>benign|malignant)/...``);
* by a list: ``pairs_csv``, a CSV with columns ``image``, ``mask`` (several separated by ``;``)
  and optionally ``label`` and ``patient_id``.

``labels_csv`` (columns ``image``: file name, stem or case id; ``label``; optionally
``patient_id``) adds labels to the first three. Without labels an image is ``normal`` when its mask
is empty and ``lesion`` otherwise. ``name`` is the dataset's name in manifests, tables and cache
folders, so two user datasets are told apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from pydantic import field_validator, model_validator

from busbench.data.adapters.base import AdapterOptions, CaseSource, DatasetAdapter, known_label, register_adapter
from busbench.data.adapters.pairing import (
    choose_images,
    image_files,
    is_image_file,
    log_non_image,
    natural_path_key,
    pair_masks,
)
from busbench.data.csv_files import read_csv_with_columns
from busbench.data.manifest import natural_key
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError

ID_GROUP = "id"
LABEL_GROUP = "label"


class FolderOptions(AdapterOptions):
    name: str = "folder"
    images_dir: str = "images"
    masks_dir: str = "masks"
    mask_suffix: str = ""
    image: str | None = None
    mask: str | None = None
    image_regex: str | None = None
    mask_regex: str | None = None
    pairs_csv: str | None = None
    labels_csv: str | None = None
    allow_mask_gaps: bool = False

    @field_validator("name")
    @classmethod
    def _file_name_safe(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError(f"{name!r} must be letters, digits, '_', '.' or '-' (it names cache folders)")
        return name

    @model_validator(mode="after")
    def _one_pairing(self) -> FolderOptions:
        modes = {
            "image=/mask=": (self.image, self.mask),
            "image_regex=/mask_regex=": (self.image_regex, self.mask_regex),
            "pairs_csv=": (self.pairs_csv, self.pairs_csv),
        }
        chosen = [key for key, values in modes.items() if any(values)]
        if len(chosen) > 1:
            raise ValueError(f"choose one way of pairing, not {' and '.join(chosen)}")
        for key, values in modes.items():
            if any(values) and not all(values):
                raise ValueError(f"{key} go together: give both")
        for template in (self.image, self.mask):
            if template is not None and template.count("{id}") != 1:
                raise ValueError(f"template {template!r} must contain {{id}} exactly once")
        for regex in (self.image_regex, self.mask_regex):
            if regex is not None and f"(?P<{ID_GROUP}>" not in regex:
                raise ValueError(f"regex {regex!r} needs a named group (?P<id>...) for the case id")
        if self.pairs_csv and self.labels_csv:
            raise ValueError("pairs_csv carries its own label and patient_id columns: drop labels_csv")
        if self.labels_csv and self.image_regex and f"(?P<{LABEL_GROUP}>" in self.image_regex:
            raise ValueError("image_regex reads labels from its (?P<label>...) group: drop labels_csv, or the group")
        return self


def template_regex(template: str) -> str:
    """``images/{id}.png`` -> a regex matching that path with ``id`` as a named group."""
    before, after = template.split("{id}")
    return f"{re.escape(before)}(?P<{ID_GROUP}>[^/]+?){re.escape(after)}"


def read_labels_csv(path: Path) -> pd.DataFrame:
    """Labels table indexed by image stem, with ``label`` and ``patient_id`` columns."""
    frame = read_csv_with_columns(path, "labels_csv (relative to --root)", ("image", "label"),
                                  "image,label[,patient_id]")
    if "patient_id" not in frame.columns:
        frame["patient_id"] = ""
    frame["stem"] = [Path(name).stem for name in frame["image"]]
    repeated = sorted(set(frame["stem"][frame["stem"].duplicated()]))
    if repeated:
        raise BusbenchError(f"{path}: images listed more than once: {repeated[:5]}; keep one row per image")
    return frame.set_index("stem")


def _compile(regex: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise BusbenchError(f"-o {option}={regex!r}: not a valid regular expression ({exc})") from exc


def pair_by_patterns(root: Path, image_regex: str, mask_regex: str,
                     log: ProblemLog) -> dict[str, tuple[Path, list[Path]]]:
    """Case id -> (image, masks) for every file under ``root`` whose path matches a pattern.

    A path matching both patterns is a mask (``{id}.png`` also matches ``{id}_mask.png``). Image
    files matching neither, and non-image files beside matched ones, are logged; of several images
    of one id, one is kept (``choose_images``).
    """
    image_pattern, mask_pattern = _compile(image_regex, "image"), _compile(mask_regex, "mask")
    images: dict[str, list[Path]] = {}
    masks: dict[str, list[Path]] = {}
    unmatched, others, folders = [], [], set()
    for path in sorted(root.rglob("*"), key=natural_path_key):
        relative = path.relative_to(root).as_posix()
        if path.is_dir() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not is_image_file(path):
            others.append(path)
            continue
        if match := mask_pattern.fullmatch(relative):
            masks.setdefault(match.group(ID_GROUP), []).append(path)
        elif match := image_pattern.fullmatch(relative):
            images.setdefault(match.group(ID_GROUP), []).append(path)
        else:
            unmatched.append(path)
            continue
        folders.add(path.parent)
    for path in unmatched:
        log.drop(path, f"unpaired file: matches neither image={image_regex!r} nor mask={mask_regex!r}")
    for path in others:
        if path.parent in folders:
            log_non_image(path, log)
    for case_id, found in masks.items():
        if case_id not in images:
            for mask in found:
                log.drop(mask, f"mask without image: no image matches id {case_id!r}")
    return {case_id: (image, masks.get(case_id, [])) for case_id, image in choose_images(images, masks, log).items()}


def read_pairs_csv(root: Path, name: str, log: ProblemLog) -> list[CaseSource]:
    """Cases listed in ``pairs_csv``; listed files that do not exist are logged and dropped."""
    frame = read_csv_with_columns(root / name, "pairs_csv (relative to --root)", ("image", "mask"),
                          "image,mask[,label][,patient_id]")
    sources = []
    for row in frame.to_dict("records"):
        image = root / row["image"]
        masks = [root / m.strip() for m in row["mask"].split(";") if m.strip()]
        missing = [p for p in (image, *masks) if not p.is_file()]
        if missing:
            log.drop(image, f"listed file not found: {', '.join(str(p) for p in missing)} (row of {name})")
            continue
        label = None
        if row.get("label"):
            label = known_label(row["label"], image, f"{name} (label)", log)
            if label is None:
                continue
        sources.append(CaseSource.from_files(root, image, masks, label, patient_id=row.get("patient_id") or None))
    return sources


@register_adapter("folder", "Folder")
class FolderAdapter(DatasetAdapter[FolderOptions]):
    Options = FolderOptions
    layout_hint = ("check the pairing options (image=/mask= templates, image_regex=/mask_regex=, "
                   "pairs_csv=, or images_dir/masks_dir/mask_suffix) against the file names under --root")

    @property
    def dataset_name(self) -> str:
        return self.options.name

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        opts = self.options
        if opts.pairs_csv:
            sources = read_pairs_csv(root, opts.pairs_csv, log)
        elif opts.image and opts.mask:
            sources = self._from_patterns(root, template_regex(opts.image), template_regex(opts.mask), log)
        elif opts.image_regex and opts.mask_regex:
            sources = self._from_patterns(root, opts.image_regex, opts.mask_regex, log)
        else:
            sources = self._by_stem(root, log)
        if opts.labels_csv:
            sources = self._labelled(sources, root, read_labels_csv(root / opts.labels_csv), opts.labels_csv, log)
        return sorted(sources, key=lambda s: natural_key(s.case_id))

    def _from_patterns(self, root: Path, image_regex: str, mask_regex: str, log: ProblemLog) -> list[CaseSource]:
        """Pairs by pattern; a ``label`` group of the image pattern gives each case its class."""
        pairs = pair_by_patterns(root, image_regex, mask_regex, log)
        image_pattern = re.compile(image_regex)
        sources = []
        for case_id, (image, masks) in pairs.items():
            label = None
            if LABEL_GROUP in image_pattern.groupindex:
                match = image_pattern.fullmatch(image.relative_to(root).as_posix())
                raw = match.group(LABEL_GROUP) if match else None
                label = known_label(raw, image, f"the label group of image_regex='{image_regex}'", log)
                if label is None:
                    continue
            sources.append(CaseSource.from_files(root, image, masks, label, case_id=case_id))
        return sources

    def _by_stem(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        opts = self.options
        images_dir, masks_dir = root / opts.images_dir, root / opts.masks_dir
        for folder, key in ((images_dir, "images_dir"), (masks_dir, "masks_dir")):
            if not folder.is_dir():
                raise BusbenchError(
                    f"{folder}: not found; set -o {key}=... to the folder name under --root, or pair by "
                    "pattern: -o image=DIR/{id}.png -o mask=DIR/{id}_mask.png"
                )
        files = image_files(images_dir, log)
        if images_dir.resolve() == masks_dir.resolve():
            if not opts.mask_suffix:
                raise BusbenchError(
                    "images_dir and masks_dir are the same folder: set -o mask_suffix=_mask (or similar), "
                    "or pair by pattern: -o image={id}.png -o mask=mask_{id}.png"
                )
            masks = [f for f in files if opts.mask_suffix in f.stem]
            images = [f for f in files if opts.mask_suffix not in f.stem]
        else:
            images, masks = files, image_files(masks_dir, log)
        pairs = pair_masks(images, masks, opts.mask_suffix, log, opts.allow_mask_gaps, suffix_option=True)
        return [CaseSource.from_files(root, image, image_masks, None) for image, image_masks in pairs.items()]

    @staticmethod
    def _labelled(sources: list[CaseSource], root: Path, labels: pd.DataFrame, where: str,
                  log: ProblemLog) -> list[CaseSource]:
        labelled = []
        for source in sources:
            key = next((k for k in (source.image.stem, source.case_id) if k in labels.index), None)
            if key is None:
                log.drop(root / source.image, f"not listed in {where}: label unknown")
                continue
            raw = labels.loc[key]
            label = known_label(raw["label"], root / source.image, where, log)
            if label is not None:
                labelled.append(CaseSource(source.case_id, source.image, source.masks, label,
                                           patient_id=raw["patient_id"] or None))
        return labelled
