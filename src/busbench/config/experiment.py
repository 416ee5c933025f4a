"""Experiment configuration: YAML files validated into typed settings.

Every section forbids unknown keys, so a typo (``train.epoch``) is an error naming the key, not a
silently ignored setting. ``--set train.epochs=5`` overrides any key; values are parsed as YAML.
A ``grid`` section lists several models and datasets; each (dataset, model) pair is one cell of
the benchmark, run with the rest of the settings unchanged. Dataset folders (``root``,
``prepared``) may name environment variables (``${BUSBENCH_DATA}/Dataset_BUSI_with_GT``), and a
relative one in a YAML file is taken from that file's folder (``busbench.config.paths``); other
relative paths (``output_dir``, ``links_file``, ``init_from``) and ``--set`` values are taken from the
working directory. Every key has a description: ``busbench config schema`` prints them, and the
docs' settings reference (docs/configuration.md) is generated from them (``busbench.config.reference``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field, field_validator, model_validator

from busbench.config.data_section import FOLDER_NAME, NOT_A_POOL, DataConfig, FolderName
from busbench.config.distinct import Distinct
from busbench.config.section import Section
from busbench.config.training import LossConfig, OptimizerConfig, ScheduleConfig, TrainConfig
from busbench.data.choices import ResizeMode
from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.geometry import MAX_SIZE, MIN_SIZE
from busbench.data.split.split_file import SplitSettings
from busbench.metrics.conventions import DEFAULT_NSD_TOLERANCE, HD95Convention


class SplitConfig(Section):
    test_size: float = Field(0.2, gt=0.0, lt=1.0, description="Share of images held out as the frozen test set.")
    folds: int = Field(5, ge=2, description="Cross-validation folds of the rest.")
    seed: int = Field(42, description="Seed of the split.")
    official: bool = Field(False, description="Use the dataset's own partition (BUS-BRA's 5-fold-cv.csv).")
    official_test_fold: int = Field(1, description="With `official`: the official fold held out as the test set.")
    protocol: Literal["grouped", "image_level"] = Field("grouped", description=(
        "\"grouped\" (busbench's fair split) or \"image_level\": image by image, stratified by label only, as "
        "published BUS benchmarks split (leaky: duplicates and patients cross sides; named in every table)."))
    links_file: Path | None = Field(None, description=(
        "CSV of case_a, case_b, relation (must-link | cannot-link), a case named by its case_id or its pixel_sha256 "
        "(so the file works on a renamed copy); its content is part of the split."))
    registry: str | None = Field(None, description=(
        "A split registry (`busbench registry list`, or a registry file): every case's role comes from it by "
        "content, the same test set on every copy of the dataset; the other split settings are then unused."))
    registry_mismatch: bool = Field(False, description=(
        "With `registry`: split a copy that holds cases the registry lacks (development only) or lacks some of its "
        "cases; every table says how many. `busbench verify` lists them."))
    reviewed_links: bool = Field(True, description=(
        "Keep the reviewed duplicate pairs that busbench ships for BUSI and BUS-BRA together, matched by content: "
        "any adapter, file names or resolution."))
    near_duplicate_distance: int = Field(DuplicateSettings.near_duplicate_distance, ge=0, le=64, description=(
        "Near-duplicate detector: pHash bits within which a neighbour's correlation is checked."))
    near_duplicate_inliers: int = Field(DuplicateSettings.near_duplicate_inliers, ge=3, description=(
        "Near-duplicate detector: RANSAC inliers of one similarity transform that link two images."))
    near_duplicate_spread: float = Field(DuplicateSettings.near_duplicate_spread, ge=0.0, le=1.0, description=(
        "Near-duplicate detector: fraction of the image the inliers' bounding box must cover."))
    near_duplicate_correlation: float = Field(DuplicateSettings.near_duplicate_correlation, ge=-1.0, le=1.0,
                                              description="Near-duplicate detector: aligned correlation of the "
                                                          "blurred images that links them.")
    near_duplicate_max_scale: float = Field(DuplicateSettings.near_duplicate_max_scale, ge=1.0, description=(
        "Near-duplicate detector: largest zoom between two copies."))

    @model_validator(mode="after")
    def _registry_fixes_the_split(self) -> SplitConfig:
        """A registry gives every case its role: a split setting set beside it would be ignored, so it is refused."""
        if self.registry is None:
            return self
        kept = ("registry", "registry_mismatch")
        unused = [f"split.{name}={getattr(self, name)}" for name, field in type(self).model_fields.items()
                  if name not in kept and getattr(self, name) != field.default]
        if unused:
            raise ValueError(f"{', '.join(unused)} would be ignored: split.registry {self.registry} fixes the test set "
                             "and the folds; leave them out, or set split.registry=null to split by them (your own "
                             "test set, named in every table)")
        return self

    def settings(self) -> SplitSettings:
        """The splitter's settings; the ``near_duplicate_*`` keys go to the duplicate detector."""
        duplicates = DuplicateSettings(**{name: getattr(self, name) for name in DuplicateSettings.__dataclass_fields__})
        return SplitSettings(self.test_size, self.folds, self.seed, self.official, self.official_test_fold, duplicates,
                             None if self.links_file is None else str(self.links_file), self.reviewed_links,
                             self.protocol, self.registry, self.registry_mismatch)


class InputConfig(Section):
    size: int = Field(256, ge=MIN_SIZE, le=MAX_SIZE, description="Side of the square network input, px.")
    channels: Literal[1, 3] = Field(1, description="1 (grey) or 3 (the grey image repeated, or RGB).")
    resize: ResizeMode = Field("letterbox", description=(
        "\"letterbox\": the longer side to `size`, the other zero-padded symmetrically; \"resize\": stretched."))


class ModelConfig(Section):
    name: str = Field("unet", description=(
        "A registered model (`busbench models`), a plugin's entry point, or an import path pkg.mod:build."))
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Arguments of the model's constructor.")
    label: FolderName | None = Field(None, description=(
        "The name in tables and of the run folder, e.g. \"unet_w8\" for a U-Net of width 8 (default: the model "
        "name, plus a hash of non-default arguments)."))
    init_from: Path | None = Field(None, description=(
        "Cross-dataset transfer: start every fold from these weights (a best.pt of another run)."))
    init_from_test_overlap: Literal["refuse", "allow"] = Field("refuse", description=(
        "Weights whose training images include a current test image are refused; \"allow\" is marked in every "
        "table."))

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
        parts = [", ".join(f"{name}={value}" for name, value in sorted(self.kwargs.items()))] if self.kwargs else []
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


class EvalConfig(Section):
    hd95: HD95Convention = Field("pooled", description=(
        "HD95 over the pooled distances of both directions, or the larger of the two directed ones."))
    hd95_space: Literal["original", "network"] = Field("original", description=(
        "Where HD95 is measured: on the original image (default), or, as some published benchmarks do, on the "
        "network's input square (\"network\": letterbox padding included, pixels of that size)."))
    hd95_empty: Literal["diagonal", "drop_false_alarms"] = Field("diagonal", description=(
        "HD95 when one mask is empty: the image diagonal (default), or \"drop_false_alarms\": a lesion predicted "
        "on a normal image is left out of the HD95 mean (a missed lesion still scores the diagonal)."))
    nsd_tolerance: float = Field(DEFAULT_NSD_TOLERANCE, ge=0.0, allow_inf_nan=False, description=(
        f"Tolerance of the normalised surface distance (NSD, surface Dice) in pixels of the original image "
        f"(default {DEFAULT_NSD_TOLERANCE:g}): the share of both lesion boundaries within it of the other. Both "
        "masks empty: NSD 1; exactly one empty: NSD 0."))
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="Probability above which a pixel is lesion.")
    batch_size: int = Field(16, ge=1, description="Inference batch size.")
    compile: bool = Field(False, description=(
        "torch.compile the fold models for test inference (busbench.train.compile): 1.3-1.7x faster on the 2-core "
        "CPU after a minute or two of compiling per model."))
    tta: Distinct[Literal["hflip", "vflip", "rot180"]] = Field(default_factory=list, description=(
        "Test-time augmentation views averaged with the plain image, for every prediction."))
    postprocess: bool = Field(True, description=(
        "Choose post-processing on out-of-fold predictions and score the fold ensemble with it."))
    cross_datasets: list[DataConfig] = Field(default_factory=list, description=(
        "Cross-dataset generalisation: also score every fold model on these datasets' held-out test sets "
        "(each a `data` section)."))
    cross_dataset_overlap: Literal["drop", "keep"] = Field("drop", description=(
        "Their test images that a fold model trained on are dropped (and counted); \"keep\" is marked in every "
        "table."))


class TrackingConfig(Section):
    """Experiment trackers, off by default; each is an optional extra (busbench.train.tracking)."""

    tensorboard: bool = Field(False, description=(
        "Write TensorBoard event files per fold to <run>/<cell>/fold-<k>/tensorboard: losses, validation metrics "
        "and learning rate per epoch; at the end the config as hparams with the test metrics and best_epoch (the "
        "HParams tab compares folds and models). Needs `pip install 'busbench[tensorboard]'`."))
    mlflow: bool = Field(False, description=(
        "Log one MLflow parent run per cell (experiment = `name`) with the summary's numbers as metrics "
        "(dice_mean, dice_std, ensemble_dice, ensemble_pp_dice, ...), the git commit, config.yaml and "
        "environment.json, and under it one run per fold: the config as params, metrics per epoch, test metrics, "
        "best_epoch, the fold's files; to MLFLOW_TRACKING_URI when set, else to the local store "
        "<output_dir>/mlruns. Needs `pip install 'busbench[mlflow]'`."))
    mlflow_models: bool = Field(False, description=(
        "With tracking.mlflow: also log each fold's best.pt (the kept model) as an artifact of its fold run; off "
        "by default, for it copies every checkpoint into the store."))

    @model_validator(mode="after")
    def _models_need_mlflow(self) -> TrackingConfig:
        if self.mlflow_models and not self.mlflow:
            raise ValueError("tracking.mlflow_models: true logs to the fold's MLflow run: set tracking.mlflow: true "
                             "too, or tracking.mlflow_models: false")
        return self


# What ``_enough_to_leave_out`` refuses, in the editor schema
LEAVE_OUT_RULES: dict[str, Any] = {
    "if": {"required": ["protocol"], "properties": {"protocol": {"const": "leave_one_dataset_out"}}},
    "then": {"required": ["datasets"], "properties": {"datasets": {"minItems": 2}}},
}


def _data_or_pool_list(schema: dict[str, Any]) -> None:
    """The editor schema of ``data``: the section, or the list of two or more datasets pooled (``_data_as_list``)."""
    section = {"$ref": schema.pop("$ref")}
    schema["oneOf"] = [section, {"type": "array", "minItems": 2, "uniqueItems": True,
                                 "items": {"allOf": [section, NOT_A_POOL]}}]


class GridConfig(Section):
    model_config = ConfigDict(json_schema_extra=LEAVE_OUT_RULES)

    datasets: list[DataConfig] = Field(default_factory=list, description=(
        "Datasets of the grid, each a `data` section (default: `data`)."))
    models: list[ModelConfig] = Field(default_factory=list, description=(
        "Models of the grid, each a `model` section (default: `model`)."))
    protocol: Literal["each_dataset", "leave_one_dataset_out"] = Field("each_dataset", description=(
        "\"each_dataset\": one cell per dataset of `datasets`; \"leave_one_dataset_out\": one cell per dataset "
        "left out, trained on the others (their pool; with two datasets, the other one) and scored on every test "
        "set, the left-out one's included."))

    @model_validator(mode="after")
    def _enough_to_leave_out(self) -> GridConfig:
        if self.protocol == "leave_one_dataset_out" and len(self.datasets) < 2:
            raise ValueError("grid.protocol leave_one_dataset_out needs two or more grid.datasets (each cell trains "
                             f"on all but one), got {len(self.datasets)}: list the datasets in grid.datasets")
        return self

    def training_data(self) -> list[tuple[DataConfig, list[DataConfig]]]:
        """Each cell's training data and the datasets it is scored on besides its own test set(s)."""
        if self.protocol == "each_dataset":
            return [(dataset, []) for dataset in self.datasets]
        others = [[d for d in self.datasets if d is not out] for out in self.datasets]
        return [(rest[0] if len(rest) == 1 else DataConfig(pool=rest), [out])
                for rest, out in zip(others, self.datasets, strict=True)]


@dataclass(frozen=True)
class TrainingRecipe:
    """The sections a fold's training reads (``train_fold``), taken from a cell's config once."""

    model: ModelConfig
    input: InputConfig
    loss: LossConfig
    optimizer: OptimizerConfig
    schedule: ScheduleConfig
    train: TrainConfig


@dataclass(frozen=True)
class TrackingTarget:
    """What a cell's trackers read: their switches, the folder of the local MLflow store, the
    experiment's name and the whole config, logged as parameters."""

    settings: TrackingConfig
    output_dir: Path
    experiment: str
    params: dict[str, Any]


class ExperimentConfig(Section):
    name: FolderName = Field("experiment", description="The experiment's folder under output_dir.")
    output_dir: Path = Field(Path("runs"), description="Where runs are written; relative: from the working directory.")
    data: DataConfig = Field(default_factory=DataConfig, json_schema_extra=_data_or_pool_list, description=(
        "The dataset; a list of two or more is their pool (`data.pool`)."))
    split: SplitConfig = Field(default_factory=SplitConfig, description="The frozen test set and the folds.")
    input: InputConfig = Field(default_factory=InputConfig, description="The network's input.")
    model: ModelConfig = Field(default_factory=ModelConfig, description="The network.")
    loss: LossConfig = Field(default_factory=LossConfig, description="The training loss.")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig, description="The optimiser.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig, description="The learning-rate schedule.")
    train: TrainConfig = Field(default_factory=TrainConfig, description="Training of each fold.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Scoring on the held-out test set.")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description=(
        "Experiment trackers (TensorBoard, MLflow) fed each fold's epochs and test scores."))
    grid: GridConfig | None = Field(None, description=(
        "Several datasets and models: each (dataset, model) cell runs with the other settings unchanged."))

    @model_validator(mode="after")
    def _input_size_suits_every_model(self) -> ExperimentConfig:
        """A size a model cannot take fails here, not after prepare, split and cache have run."""
        from busbench.models import check_input_size

        for cell in self.cells():  # declared sizes only: a plugin's forward pass waits until it is built
            check_input_size(cell.model.name, self.input.size, cell.model.kwargs)
        return self

    def cells(self) -> list[ExperimentConfig]:
        """One configuration per (training data, model, seed) of the grid and ``train.seeds``; just this one
        without either. A seed's cell keeps ``train.seeds`` as that one seed, which names its folder; a
        leave-one-dataset-out cell is also scored on the dataset it left out (``eval.cross_datasets``)."""
        grid = self.grid or GridConfig()
        datasets, models = grid.training_data() or [(self.data, [])], grid.models or [self.model]
        trainings = [self.train.model_copy(update={"seed": s, "seeds": [s]}) for s in self.train.seeds] or [self.train]
        return [self.model_copy(update={"data": d, "model": m, "train": t, "grid": None,
                                        "eval": self._also_scored_on(left_out)})
                for d, left_out in datasets for m in models for t in trainings]

    def cell_key(self) -> str:
        """The model's folder name in a cell's id: the model key, and ``-seed<N>`` for a cell of ``train.seeds``."""
        return self.model.key() + (f"-seed{self.train.seed}" if self.train.seeds else "")

    def _also_scored_on(self, left_out: list[DataConfig]) -> EvalConfig:
        """``eval`` with a left-out dataset added to ``cross_datasets`` (leave one dataset out)."""
        known = {d.key() for d in self.eval.cross_datasets}
        extra = [d for d in left_out if d.key() not in known]
        if not extra:
            return self.eval
        return self.eval.model_copy(update={"cross_datasets": [*extra, *self.eval.cross_datasets]})

    @model_validator(mode="before")
    @classmethod
    def _data_as_list(cls, values: Any) -> Any:
        """``data: [A, B]`` is the pool of A and B."""
        if isinstance(values, dict) and isinstance(values.get("data"), list):
            return {**values, "data": {"pool": values["data"]}}
        return values

    def training_recipe(self) -> TrainingRecipe:
        return TrainingRecipe(self.model, self.input, self.loss, self.optimizer, self.schedule, self.train)

    def tracking_target(self) -> TrackingTarget:
        return TrackingTarget(self.tracking, self.output_dir, self.name, self.model_dump(mode="json"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
