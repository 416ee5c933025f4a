"""Experiment configuration: YAML files validated into typed settings.

Every section forbids unknown keys, so a typo (``train.epoch``) is an error naming the key, not a
silently ignored setting. ``--set train.epochs=5`` overrides any key; values are parsed as YAML.
A ``grid`` section lists several models and datasets; each (dataset, model) pair is one cell of
the benchmark, run with the rest of the settings unchanged. Relative paths are taken from the
working directory.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.geometry import MAX_SIZE
from busbench.data.split.split_file import SplitSettings
from busbench.errors import BusbenchError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(_Section):
    dataset: str = "synthetic"
    root: Path | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    def describe(self) -> str:
        """What the key's hash stands for, in words."""
        return f"{self.dataset} at {self.root or '(generated)'}, options {self.options or 'default'}"

    def key(self) -> str:
        """Folder name of this dataset's manifest, split and cache under the output folder."""
        identity = json.dumps({"root": str(self.root), "options": self.options}, sort_keys=True, default=str)
        return f"{self.dataset}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


class SplitConfig(_Section):
    test_size: float = Field(0.2, gt=0.0, lt=1.0)
    folds: int = Field(5, ge=2)
    seed: int = 42
    official: bool = False
    official_test_fold: int = 1
    # "grouped" (busbench's fair split) or "image_level": image by image, stratified by label only,
    # as published BUS benchmarks split (leaky: duplicates and patients cross sides; named in every table).
    protocol: Literal["grouped", "image_level"] = "grouped"
    # CSV of case_a, case_b, relation (must-link | cannot-link); its content is part of the split.
    links_file: Path | None = None
    # Keep the reviewed duplicate pairs that busbench ships for BUSI and BUS-BRA together.
    reviewed_links: bool = True
    # The near-duplicate detector's settings (busbench.data.duplicates.links.DuplicateSettings).
    near_duplicate_distance: int = Field(DuplicateSettings.near_duplicate_distance, ge=0, le=64)
    near_duplicate_inliers: int = Field(DuplicateSettings.near_duplicate_inliers, ge=3)
    near_duplicate_spread: float = Field(DuplicateSettings.near_duplicate_spread, ge=0.0, le=1.0)
    near_duplicate_correlation: float = Field(DuplicateSettings.near_duplicate_correlation, ge=-1.0, le=1.0)
    near_duplicate_max_scale: float = Field(DuplicateSettings.near_duplicate_max_scale, ge=1.0)

    def settings(self) -> SplitSettings:
        """The splitter's settings; the ``near_duplicate_*`` keys go to the duplicate detector."""
        duplicates = DuplicateSettings(**{name: getattr(self, name) for name in DuplicateSettings.__dataclass_fields__})
        return SplitSettings(self.test_size, self.folds, self.seed, self.official, self.official_test_fold, duplicates,
                             None if self.links_file is None else str(self.links_file), self.reviewed_links,
                             self.protocol)


class InputConfig(_Section):
    size: int = Field(256, ge=16, le=MAX_SIZE)
    channels: Literal[1, 3] = 1
    resize: Literal["letterbox", "resize"] = "letterbox"


FOLDER_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")  # a model key usable as a folder name and in --cell


class ModelConfig(_Section):
    name: str = "unet"
    kwargs: dict[str, Any] = Field(default_factory=dict)
    # The name in tables and of the run folder, e.g. "unet_w8" for a U-Net of width 8 (default: the
    # model name, plus a hash of non-default arguments).
    label: str | None = Field(None, pattern=FOLDER_NAME.pattern)
    # Cross-dataset transfer: start every fold from these weights (a best.pt of another run).
    init_from: Path | None = None
    # Weights whose training images include a current test image are refused; "allow" is marked in every table.
    init_from_test_overlap: Literal["refuse", "allow"] = "refuse"

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        """Registered, a plugin's entry point, or an import path; a plugin that cannot load is a one-line error."""
        from busbench.models.registry import UnknownModelError, resolve_model

        try:
            resolve_model(name)
        except UnknownModelError as exc:
            raise ValueError(str(exc)) from exc
        return name

    def describe(self) -> str:
        """What the key's hash stands for, in words; a plugin's or MONAI's origin included."""
        from busbench.models.registry import resolve_model

        origin = resolve_model(self.name).origin
        parts = [f"kwargs {self.kwargs}"] if self.kwargs else []
        parts += [f"init_from {self.init_from}"] if self.init_from else []
        parts += [f"origin {origin}"] if origin else []
        return f"{self.name} with {', '.join(parts)}" if parts else self.name

    def key(self) -> str:
        """Folder name of this model's runs: the label, or the name plus a hash of non-default arguments.

        A name that is no folder name (an import path ``pkg.mod:build``) becomes its last part plus a
        hash of the whole name (``build-1a2b3c4d``).
        """
        if self.label:
            return self.label
        readable = FOLDER_NAME.fullmatch(self.name) is not None
        if readable and not self.kwargs and self.init_from is None:
            return self.name
        identity: dict[str, object] = {"kwargs": self.kwargs, "init_from": str(self.init_from)}
        stem = self.name
        if not readable:
            identity["name"] = self.name
            stem = re.sub(r"[^A-Za-z0-9_.+-]", "_", re.split(r"[:./]", self.name)[-1]).strip(".") or "model"
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{stem}-{digest}"


class LossConfig(_Section):
    name: Literal["bce", "dice", "bce_dice", "focal", "tversky", "lovasz"] = "bce_dice"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class OptimizerConfig(_Section):
    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(1e-4, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)


class ScheduleConfig(_Section):
    name: Literal["cosine", "poly", "constant"] = "cosine"
    warmup_epochs: int = Field(0, ge=0)
    power: float = Field(0.9, gt=0.0)
    min_lr_ratio: float = Field(0.01, ge=0.0, le=1.0)


# select_metric values of earlier versions: both averaged over every validation image.
LEGACY_SELECT_METRICS = {"dice": "image_dice", "iou": "image_iou"}


class TrainConfig(_Section):
    epochs: int = Field(100, ge=1)
    # Fixed-length epochs of this many batches, the training images repeated with fresh augmentations
    # (nnU-Net: 250); unset: one pass over the training images.
    iterations_per_epoch: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    patience: int | None = Field(20, ge=1)
    # Validation score that picks best.pt. "lesion_dice": mean Dice over the validation images that
    # have a lesion, so a model that predicts nothing scores 0 and is never selected, however many
    # normal images the fold holds (an empty prediction scores Dice 1 on each of them). False alarms
    # on normal images are judged on the test set, not here. "image_dice"/"image_iou": the mean over
    # all validation images (normal ones included, the old "dice"/"iou"); "loss": lowest loss.
    select_metric: Literal["lesion_dice", "image_dice", "image_iou", "loss"] = "lesion_dice"
    # Transfer learning: keep a pretrained encoder fixed (weights and batch-norm statistics) this long.
    freeze_encoder_epochs: int = Field(0, ge=0)
    # busbench's own presets, nnU-Net's, or a seed's recipe reproduced as it ran (busbench.train.augment).
    augmentation: Literal["none", "light", "standard", "strong", "nnunet", "awesome_bus", "cmunext",
                          "ccf_bdci_2021"] = "standard"
    elastic: bool = False
    grad_clip: float | None = Field(1.0, gt=0.0)
    channels_last: bool = False
    # torch.compile the network for training and validation (busbench.train.compile); on the 2-core
    # CPU it slowed training. eval.compile does the same for test inference, where it helped. Needs a
    # C++ compiler on the CPU and a C compiler (Triton) on CUDA, checked before training starts.
    compile: bool = False
    # Split each batch over every visible GPU (nn.DataParallel), train.device first; fold jobs on
    # separate GPUs scale better. Each GPU computes batch-norm statistics over its share of the batch.
    multi_gpu: bool = False
    # Mixed precision (busbench.train.device): "auto" is bf16 on GPUs with native bf16, fp16 with a
    # gradient scaler on older ones (T4, V100, RTX 20xx), full precision on the CPU; "bf16" forces bf16
    # (2.0-2.4x faster training steps on the 2-core development CPU), "fp16" needs CUDA, "off" is fp32.
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    seed: int = 0
    device: str = "auto"
    # Data-loader processes that augment while the device computes; "auto": on CUDA the cores this
    # process may use less one (at most 8), on the CPU 0. They persist across epochs and prefetch.
    workers: Annotated[int, Field(ge=0)] | Literal["auto"] = "auto"
    # Deterministic kernels (busbench.train.seeding); unset: on for the CPU, where runs then repeat bit
    # for bit, off for CUDA (cuDNN benchmark mode), where some backward kernels are never deterministic.
    deterministic: bool | None = None
    threads: int | None = Field(None, ge=1)

    @field_validator("select_metric", mode="before")
    @classmethod
    def _renamed_metric(cls, value: object) -> object:
        """Run folders written before the rename keep loading, with the meaning they had."""
        return LEGACY_SELECT_METRICS.get(value, value) if isinstance(value, str) else value


class EvalConfig(_Section):
    hd95: Literal["pooled", "max-directed"] = "pooled"
    # Where HD95 is measured: on the original image (default), or, as some published benchmarks do,
    # on the network's input square ("network": letterbox padding included, pixels of that size).
    hd95_space: Literal["original", "network"] = "original"
    # HD95 when one mask is empty: the image diagonal (default), or "drop_false_alarms": a lesion
    # predicted on a normal image is left out of the HD95 mean (a missed lesion still scores the diagonal).
    hd95_empty: Literal["diagonal", "drop_false_alarms"] = "diagonal"
    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    batch_size: int = Field(16, ge=1)
    # torch.compile the fold models for test inference (busbench.train.compile): 1.3-1.7x faster on the
    # 2-core CPU after a minute or two of compiling per model.
    compile: bool = False
    # Test-time augmentation views averaged with the plain image, for every prediction.
    tta: list[Literal["hflip", "vflip", "rot180"]] = Field(default_factory=list)
    # Choose post-processing on out-of-fold predictions and score the fold ensemble with it.
    postprocess: bool = True
    # Cross-dataset generalisation: also score every fold model on these datasets' held-out test sets.
    cross_datasets: list[DataConfig] = Field(default_factory=list)
    # Their test images that a fold model trained on are dropped (and counted); "keep" is marked in every table.
    cross_dataset_overlap: Literal["drop", "keep"] = "drop"


class GridConfig(_Section):
    datasets: list[DataConfig] = Field(default_factory=list)
    models: list[ModelConfig] = Field(default_factory=list)


class ExperimentConfig(_Section):
    name: str = "experiment"
    output_dir: Path = Path("runs")
    data: DataConfig = Field(default_factory=DataConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    grid: GridConfig | None = None

    @model_validator(mode="after")
    def _input_size_suits_every_model(self) -> ExperimentConfig:
        """A size a model cannot take fails here, not after prepare, split and cache have run."""
        from busbench.models import check_input_size

        for cell in self.cells():
            check_input_size(cell.model.name, self.input.size, cell.model.kwargs, channels=self.input.channels)
        return self

    def cells(self) -> list[ExperimentConfig]:
        """One configuration per (dataset, model) of the grid; just this one without a grid."""
        if self.grid is None:
            return [self]
        datasets = self.grid.datasets or [self.data]
        models = self.grid.models or [self.model]
        return [self.model_copy(update={"data": d, "model": m, "grid": None}) for d in datasets for m in models]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``a.b=c`` pairs applied to a nested dict (values parsed as YAML)."""
    result = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BusbenchError(f"--set {item!r}: expected KEY=VALUE such as train.epochs=5")
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise BusbenchError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "unreadable"
            raise BusbenchError(f"--set {item!r}: the value is not valid YAML ({problem}); quote it, or close "
                                "its brackets, e.g. --set 'train.epochs=5' or --set 'eval.tta=[hflip]'") from exc
    return result


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check its spelling against the documented settings)"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def validate_config(raw: dict[str, Any], source: str = "config") -> ExperimentConfig:
    """Validate a dict into settings; errors list every bad key with the reason."""
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        details = "\n  ".join(_describe(e) for e in exc.errors())
        raise BusbenchError(f"{source}: invalid settings:\n  {details}") from exc


def load_config(path: Path | None, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment file (or the defaults when ``path`` is None) and apply overrides."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise BusbenchError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise BusbenchError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise BusbenchError(f"{path}: the top level must be a mapping of sections (data:, train:, ...)")
    return validate_config(apply_overrides(raw, overrides or []), str(path or "defaults"))
