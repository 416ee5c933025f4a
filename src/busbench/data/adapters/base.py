"""What an adapter returns and the registry adapters add themselves to.

An adapter only knows its dataset's layout: it lists each image with its mask files, label,
patient and metadata (``CaseSource``). Decoding, checking and hashing the files is shared
(``busbench.data.prepare``), so every dataset gets the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from busbench.data.labels import canonical_label
from busbench.data.problems import ProblemLog
from busbench.errors import BusbenchError
from busbench.registry import add_once, unknown_name


@dataclass(frozen=True)
class CaseSource:
    """One image of a dataset as its layout describes it; paths are relative to the root."""

    case_id: str
    image: Path
    masks: tuple[Path, ...]
    label: str | None  # canonical label; None: normal if the mask is empty, else "lesion"
    patient_id: str | None = None
    official_fold: int | None = None
    meta: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_files(cls, root: Path, image: Path, masks: list[Path] | tuple[Path, ...], label: str | None,
                   case_id: str | None = None, patient_id: str | None = None) -> CaseSource:
        """A case from absolute file paths under ``root`` (stored relative to it); id = image stem."""
        return cls(case_id=case_id or image.stem, image=image.relative_to(root),
                   masks=tuple(m.relative_to(root) for m in masks), label=label, patient_id=patient_id)


def known_label(raw: object, image: Path, where: str, log: ProblemLog) -> str | None:
    """The canonical label for ``raw``, or None after logging ``image`` as dropped."""
    label = canonical_label(raw)
    if label is None:
        log.drop(image, f"unknown label: {raw!r} in {where}")
    return label


class AdapterOptions(BaseModel):
    """Options an adapter accepts (``-o key=value`` on the CLI); unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=AdapterOptions)


class DatasetAdapter(Generic[OptionsT]):
    """Lists the cases of one dataset layout. Subclasses set ``name`` and ``Options`` (and name the
    latter as their type parameter, ``DatasetAdapter[FolderOptions]``, so that ``self.options`` has its fields)."""

    name: ClassVar[str]
    display_name: ClassVar[str]  # how tables and titles name the dataset ("BUS-BRA")
    citation: ClassVar[str] = ""
    Options: ClassVar[type[AdapterOptions]] = AdapterOptions
    # What to check when no case could be read, for the error that says so.
    layout_hint: ClassVar[str] = "check --root points at the folder laid out as the dataset's authors distribute it"

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @property
    def dataset_name(self) -> str:
        """The name in manifests, tables and cache folders; an option where users name their data."""
        return self.name

    def discover(self, root: Path, log: ProblemLog) -> list[CaseSource]:
        raise NotImplementedError

    @classmethod
    def listing_order(cls, root: Path) -> list[Path] | None:
        """The image files in the order the dataset's reference benchmark code lists them, for the
        image-level split that reproduces its test set (busbench.data.split.image_level); None: unknown,
        the manifest's order is used."""
        return None


ADAPTERS: dict[str, type[DatasetAdapter[Any]]] = {}
AdapterClass = TypeVar("AdapterClass", bound=type[DatasetAdapter[Any]])


def register_adapter(name: str, display_name: str) -> Callable[[AdapterClass], AdapterClass]:
    """Class decorator adding an adapter to the registry under ``name``, shown as ``display_name``."""

    def add(cls: AdapterClass) -> AdapterClass:
        entry: type[DatasetAdapter[Any]] = cls
        add_once(ADAPTERS, name, entry, "dataset adapter")
        cls.name, cls.display_name = name, display_name
        return cls

    return add


def build_adapter(name: str, options: dict[str, object] | None = None) -> DatasetAdapter[Any]:
    """The adapter registered as ``name`` with validated options."""
    if name not in ADAPTERS:
        raise unknown_name("dataset", name, sorted(ADAPTERS))
    cls = ADAPTERS[name]
    try:
        parsed = cls.Options(**(options or {}))
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'option'}: {e['msg']}" for e in exc.errors())
        valid = ", ".join(cls.Options.model_fields) or "none"
        raise BusbenchError(f"dataset {name!r} options: {details} (valid options: {valid})") from exc
    return cls(parsed)
