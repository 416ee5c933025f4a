"""The typed records of a run folder: a finished fold's ``done.json`` (``FoldDone``) and a cell's
``environment.json`` (``RunEnvironment``).

The writer builds the record and the readers get it back validated, so a field is named once
and a damaged or hand-edited file is one line naming it, not a ``KeyError`` deep in a report.
Fields added by later versions are optional: a run folder of an older busbench still reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from busbench.errors import BusbenchError
from busbench.layout.atomic import read_json, write_json
from busbench.layout.folders import CellFolder, FoldFolder
from busbench.layout.locks import lock_file, locked
from busbench.log import logger

Record = TypeVar("Record", bound=BaseModel)


def validation_text(exc: ValidationError) -> str:
    """A pydantic error in a few words: the first bad field (dotted) and why, and how many more."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the whole record"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def read_record(model: type[Record], path: Path, fix: str) -> Record:
    """``path`` read as ``model``; invalid JSON or a field of the wrong kind is one line ending in ``fix``."""
    raw = read_json(path, fix)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise BusbenchError(f"{path}: damaged ({validation_text(exc)}); {fix}") from exc


class FoldDone(BaseModel):
    """``fold-<k>/done.json``: written last, when the fold is trained and scored on the test set."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    fold: int
    best_epoch: int
    best_score: float | None
    select_metric: str
    epochs_run: int
    stopped_early: bool
    # why training ended: "epochs", "patience" or "budget" (train.max_minutes); absent in folds of older versions
    stop_reason: str | None = None
    train_seconds: float
    test_seconds: float
    test_images: int
    # SHA-256 of best.pt (``train.checkpoint.checkpoint_digests``); absent in folds of older versions
    checkpoints: dict[str, str] | None = None
    # ``data.provenance.Provenance.as_dict()``; absent in folds of older versions, which are then refused
    provenance: dict[str, str] | None = None
    # the machine and software of the process that finished training the fold, with the precision it trained in
    # (``environment.fold_environment``): a cell's folds may train on several machines; absent in older folds
    environment: dict[str, str | int | None] | None = None


def write_done(record: FoldDone, fold_dir: Path) -> None:
    write_json(record.model_dump(), FoldFolder(fold_dir).done_json)


def read_done(fold_dir: Path, fix: str) -> FoldDone:
    """A finished fold's record; ``fix`` says how to recover a damaged one."""
    return read_record(FoldDone, FoldFolder(fold_dir).done_json, fix)


class RunEnvironment(BaseModel):
    """``environment.json`` of a trained cell (``busbench run``) or a scored outside method
    (``busbench score``): what the result was computed with (``busbench.environment``) and on which
    split. Every field may be missing from older files."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    busbench: str | None = None
    git_commit: str | None = None
    python: str | None = None
    platform: str | None = None
    processor: str | None = None
    torch_threads: int | None = None
    cuda: str | None = None  # the GPU's name, None on the CPU
    libraries: dict[str, str | None] | None = None
    device: str | None = None  # trained cells only
    split_file: str | None = None  # the split file's name in the dataset's data folder
    data_folder: str | None = None  # that folder's absolute path: data.prepared, or <output_dir>/data/<key>
    manifest_sha256: str | None = None
    split_sha256: str | None = None
    test_set_sha256: str | None = None
    model_origin: str | None = None  # trained cells only: where the model's code came from
    precision: str | None = None  # trained cells only: what training computed in (fp32, bf16, fp16)
    precision_reason: str | None = None  # why (the setting, the device's native bf16)
    white_level: int | None = None  # trained cells only: the value training images were scaled from to 255


def write_environment(record: RunEnvironment, folder: Path, sort_keys: bool = True) -> None:
    """The fields the writer gave (an outside method has no device or model origin)."""
    write_json(record.model_dump(exclude_unset=True), CellFolder(folder).environment_json, sort_keys=sort_keys)


# the data the cell's artefacts were just checked against (``pipeline.checks``): always the current
DATA_FIELDS = ("split_file", "data_folder", "manifest_sha256", "split_sha256", "test_set_sha256", "white_level")
# what computed the cell: kept as the cell started, never filled in from another machine
MACHINE_FIELDS = ("busbench", "git_commit", "python", "platform", "processor", "torch_threads", "cuda", "libraries",
                  "device", "precision", "precision_reason")
# what a warning names where it differs; not the precision, which a resumed fold keeps from its last.pt and a new
# fold chooses on its device, each said as the fold starts (``train.fold_precision``) and kept in its done.json
COMPARED_FIELDS = ("busbench", "git_commit", "python", "processor", "cuda", "device")


def update_environment(record: RunEnvironment, folder: Path) -> dict[str, tuple[object, object]]:
    """A cell's ``environment.json``: its machine and software (``MACHINE_FIELDS``) are written by the
    invocation that starts the cell (its first fold) and kept after it, so that a resume, another fold's job
    or the job that finishes the cell does not rewrite what the cell was started with (each fold's
    ``done.json`` records what trained it); the data fields are always this invocation's, and another field
    the file lacks is added. A cell whose folds were all deleted starts again. Returns what differs now:
    field -> (recorded, now)."""
    cell = CellFolder(folder)
    with locked(lock_file(folder, "environment"), f"{cell.environment_json}"):  # parallel fold jobs
        try:
            first = read_environment(folder).model_dump(exclude_unset=True) if cell.folds_started() else None
        except BusbenchError as damaged:  # what the cell started with is lost: this invocation's record replaces it
            logger.warning(f"warning: {damaged}; rewriting it with this run's machine and software")
            first = None
        if not first:
            write_environment(record, folder)
            return {}
        now = record.model_dump(exclude_unset=True)
        added = {name: value for name, value in now.items() if name not in first and name not in MACHINE_FIELDS}
        merged = {**first, **added, **{name: now[name] for name in DATA_FIELDS if name in now}}
        if merged != first:
            write_environment(RunEnvironment.model_validate(merged), folder)
    differs = {name: (first[name], now[name]) for name in COMPARED_FIELDS
               if name in first and name in now and first[name] != now[name]}
    libraries = first.get("libraries") or {}, now.get("libraries") or {}
    differs |= {name: (libraries[0][name], version) for name, version in libraries[1].items()
                if name in libraries[0] and libraries[0][name] != version}
    return differs


def read_environment(folder: Path) -> RunEnvironment:
    """A run folder's environment record; an empty one (every field None) when the file is absent."""
    path = CellFolder(folder).environment_json
    if not path.is_file():
        return RunEnvironment()
    return read_record(RunEnvironment, path, "run `busbench run` (or `busbench score`) again to rewrite it")
