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
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from busbench.augment import PRESETS
from busbench.config.choices import enum_of, registered
from busbench.config.distinct import distinct
from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.geometry import MAX_SIZE, MIN_SIZE
from busbench.data.split.split_file import SplitSettings
from busbench.losses import LOSSES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # usable as a folder name and in --cell; no "..", no "/"


def folder_name(value: str | None) -> str | None:
    """A setting that becomes a folder under ``output_dir`` must stay a plain name, never a path."""
    if value is not None and not FOLDER_NAME.fullmatch(value):
        raise ValueError(f"{value!r} names a folder under output_dir: use letters, digits and _ . + - only, starting "
                         "with a letter or digit (no '/', no '..')")
    return value


POOL = "pool"  # data.dataset of a pooled cell (``DataConfig.pool``)


class DataConfig(_Section):
    dataset: str = Field("synthetic", description="Dataset adapter (`busbench datasets` lists them).")
    root: Path | None = Field(None, description=(
        "The folder the dataset was unpacked into, e.g. ${BUSBENCH_DATA}/Dataset_BUSI_with_GT; relative: from the "
        "YAML file's folder. Unset for the generated synthetic dataset."))
    prepared: Path | None = Field(None, description=(
        "A folder made by `busbench prepare` (manifest.csv), used instead of `root`: its split and cache files are "
        "written and reused beside the manifest, as `busbench split` and `busbench cache` do. Unset: `run` "
        "prepares the dataset itself under OUTPUT_DIR/data/<dataset>-<hash>/."))
    options: dict[str, Any] = Field(default_factory=dict, description="The adapter's options (`-o` of `prepare`).")
    pool: list[DataConfig] = Field(default_factory=list, description=(
        "Pooled training: two or more datasets (each a `data` section) developed on together, each keeping its own "
        "frozen split; fold k of the pool is every dataset's fold k, and each test set is scored on its own. "
        "`data: [A, B]` is short for `data: {pool: [A, B]}`."))

    _plain_dataset = field_validator("dataset")(folder_name)

    @model_validator(mode="after")
    def _pool_alone(self) -> DataConfig:
        """A pool is its datasets and nothing else, so that its key names exactly them."""
        if not self.pool:
            return self
        if len(self.pool) < 2:
            raise ValueError("data.pool lists one dataset: pool two or more, or give that one as `data`")
        if any(member.pool for member in self.pool):
            raise ValueError("data.pool: a pooled dataset cannot itself be a pool; list its datasets instead")
        keys = [member.key() for member in self.pool]
        if len(set(keys)) != len(keys):
            raise ValueError(f"data.pool lists a dataset twice ({keys}): list each once")
        if self.root is not None or self.prepared is not None or self.options:
            raise ValueError("data.pool: root, prepared and options belong to each pooled dataset, not to the pool")
        self.dataset = POOL
        return self

    def describe(self) -> str:
        """What the key's hash stands for, in words."""
        if self.pool:
            return "pool of " + "; ".join(member.describe() for member in self.pool)
        where = f"prepared in {self.prepared}" if self.prepared else f"at {self.root or '(generated)'}"
        return f"{self.dataset} {where}, options {self.options or 'default'}"

    def key(self) -> str:
        """Folder name of this dataset's manifest, split and cache under the output folder; a pool's
        names its datasets (``pool-busi+busbra-<hash of their keys>``)."""
        if self.pool:
            identity = json.dumps([member.key() for member in self.pool])
            names = "+".join(member.dataset for member in self.pool)
            return f"{POOL}-{names}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
        fields = {"root": str(self.root), "options": self.options}
        if self.prepared is not None:
            fields["prepared"] = str(self.prepared)
        identity = json.dumps(fields, sort_keys=True, default=str)
        return f"{self.dataset}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"


class SplitConfig(_Section):
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

    def settings(self) -> SplitSettings:
        """The splitter's settings; the ``near_duplicate_*`` keys go to the duplicate detector."""
        duplicates = DuplicateSettings(**{name: getattr(self, name) for name in DuplicateSettings.__dataclass_fields__})
        return SplitSettings(self.test_size, self.folds, self.seed, self.official, self.official_test_fold, duplicates,
                             None if self.links_file is None else str(self.links_file), self.reviewed_links,
                             self.protocol, self.registry, self.registry_mismatch)


class InputConfig(_Section):
    size: int = Field(256, ge=MIN_SIZE, le=MAX_SIZE, description="Side of the square network input, px.")
    channels: Literal[1, 3] = Field(1, description="1 (grey) or 3 (the grey image repeated, or RGB).")
    resize: Literal["letterbox", "resize"] = Field("letterbox", description=(
        "\"letterbox\": the longer side to `size`, the other zero-padded symmetrically; \"resize\": stretched."))


class ModelConfig(_Section):
    name: str = Field("unet", description=(
        "A registered model (`busbench models`), a plugin's entry point, or an import path pkg.mod:build."))
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Arguments of the model's constructor.")
    label: str | None = Field(None, description=(
        "The name in tables and of the run folder, e.g. \"unet_w8\" for a U-Net of width 8 (default: the model "
        "name, plus a hash of non-default arguments)."))
    init_from: Path | None = Field(None, description=(
        "Cross-dataset transfer: start every fold from these weights (a best.pt of another run)."))
    init_from_test_overlap: Literal["refuse", "allow"] = Field("refuse", description=(
        "Weights whose training images include a current test image are refused; \"allow\" is marked in every "
        "table."))

    _plain_label = field_validator("label")(folder_name)

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
    name: str = Field("bce_dice", json_schema_extra=enum_of(LOSSES), description=(
        "Training loss; a model that returns a list (deep supervision) gets the weighted sum over its outputs."))
    kwargs: dict[str, Any] = Field(default_factory=dict, description=(
        "The loss's arguments, e.g. batch_dice, smooth, bce_weight, dice_weight."))

    _registered = field_validator("name")(registered(LOSSES))


class OptimizerConfig(_Section):
    name: Literal["adamw", "sgd"] = Field("adamw", description="AdamW, or SGD with Nesterov momentum.")
    lr: float = Field(1e-3, gt=0.0, description="Learning rate reached after the warm-up.")
    weight_decay: float = Field(1e-4, ge=0.0, description="Weight decay.")
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD's momentum (unused by AdamW).")


class ScheduleConfig(_Section):
    name: Literal["cosine", "poly", "constant"] = Field("cosine", description=(
        "Learning-rate schedule, stepped every iteration."))
    warmup_epochs: int = Field(0, ge=0, description=(
        "Linear warm-up from 0 to optimizer.lr; at or above train.epochs the set rate is never reached (warned)."))
    power: float = Field(0.9, gt=0.0, description="Exponent of the poly schedule.")
    min_lr_ratio: float = Field(0.01, ge=0.0, le=1.0, description="Final learning rate as a fraction of lr.")


# select_metric values of earlier versions: both averaged over every validation image.
LEGACY_SELECT_METRICS = {"dice": "image_dice", "iou": "image_iou"}


class TrainConfig(_Section):
    epochs: int = Field(100, ge=1, description="Most epochs per fold (early stopping may end sooner).")
    iterations_per_epoch: int | None = Field(None, ge=1, description=(
        "Fixed-length epochs of this many batches, the training images repeated with fresh augmentations (nnU-Net: "
        "250); unset: one pass over the training images."))
    batch_size: int = Field(8, ge=1, description="Training batch size.")
    drop_last: bool = Field(True, description=(
        "Drop each epoch's last partial batch (when the training images outnumber train.batch_size), so every "
        "step sees a full batch; false keeps it, as PyTorch's DataLoader does by default and the Awesome-BUS and "
        "CMUNeXt code do. With train.iterations_per_epoch every batch is full either way."))
    patience: int | None = Field(20, ge=1, description=(
        "Stop after this many epochs without a better validation score; null: never stop early."))
    select_metric: Literal["lesion_dice", "image_dice", "image_iou", "loss"] = Field("lesion_dice", description=(
        "Validation score that picks best.pt. \"lesion_dice\": mean Dice over the validation images that have a "
        "lesion, so a model that predicts nothing scores 0 and is never selected, however many normal images the "
        "fold holds (an empty prediction scores Dice 1 on each of them); false alarms on normal images are judged "
        "on the test set, not here. \"image_dice\"/\"image_iou\": the mean over all validation images (normal "
        "ones included, the old \"dice\"/\"iou\"); \"loss\": lowest loss."))
    freeze_encoder_epochs: int = Field(0, ge=0, description=(
        "Transfer learning: keep a pretrained encoder fixed (weights and batch-norm statistics) this many epochs."))
    augmentation: str = Field("standard", json_schema_extra=enum_of(PRESETS), description=(
        "busbench's own presets, nnU-Net's, or a seed's recipe reproduced as it ran (busbench.augment)."))
    elastic: bool = Field(False, description="Add elastic deformation to busbench's presets.")
    grad_clip: float | None = Field(1.0, gt=0.0, description="Clip the gradient norm to this; null: no clipping.")
    channels_last: bool = Field(False, description="Channels-last memory format (faster with bf16 on CPUs and GPUs).")
    compile: bool = Field(False, description=(
        "torch.compile the network for training and validation (busbench.train.compile); on the 2-core CPU it "
        "slowed training. eval.compile does the same for test inference, where it helped. Needs a C++ compiler "
        "on the CPU and a C compiler (Triton) on CUDA, checked before training starts."))
    multi_gpu: bool = Field(False, description=(
        "Split each batch over every visible GPU (nn.DataParallel), train.device first; fold jobs on separate "
        "GPUs scale better. Each GPU computes batch-norm statistics over its share of the batch."))
    amp: Literal["auto", "off", "bf16", "fp16"] = Field("auto", description=(
        "Mixed precision (busbench.train.device): \"auto\" is bf16 where the device computes it natively (GPUs "
        "of compute capability 8.0+; CPUs with AVX-512 BF16, AMX or Arm BF16: 2.0-2.4x faster training steps on "
        "the 2-core development CPU), fp16 with a gradient scaler on older GPUs (T4, V100, RTX 20xx), else fp32; "
        "\"bf16\" forces bf16, except on a CPU without native bf16, where it would run ~300x slower and fp32 is "
        "used with a warning; \"fp16\" needs CUDA; \"off\" (YAML's off/no/false too) is fp32. The precision "
        "used and why is recorded in environment.json."))
    seed: int = Field(0, description="Seed of initialisation, shuffling and augmentation.")
    device: str = Field("auto", description="\"auto\" (CUDA if available), \"cpu\", \"cuda\" or \"cuda:N\".")
    workers: Annotated[int, Field(ge=0)] | Literal["auto"] = Field("auto", description=(
        "Data-loader processes that augment while the device computes; \"auto\": on CUDA the cores this process "
        "may use less one (at most 8), on the CPU 0. They persist across epochs and prefetch."))
    deterministic: bool | None = Field(None, description=(
        "Deterministic kernels (busbench.train.seeding); null: on for the CPU, where runs then repeat bit for bit, "
        "off for CUDA (cuDNN benchmark mode), where some backward kernels are never deterministic."))
    threads: int | None = Field(None, ge=1, description="torch CPU threads; null: torch's default.")

    _registered_preset = field_validator("augmentation")(registered(PRESETS))

    @field_validator("amp", mode="before")
    @classmethod
    def _off_as_yaml_reads_it(cls, value: object) -> object:
        """YAML 1.1 (PyYAML) reads an unquoted ``off``, ``no`` or ``false`` as False, in a file and in --set."""
        return "off" if value is False else value

    @field_validator("select_metric", mode="before")
    @classmethod
    def _renamed_metric(cls, value: object) -> object:
        """Run folders written before the rename keep loading, with the meaning they had."""
        return LEGACY_SELECT_METRICS.get(value, value) if isinstance(value, str) else value


class EvalConfig(_Section):
    hd95: Literal["pooled", "max-directed"] = Field("pooled", description=(
        "HD95 over the pooled distances of both directions, or the larger of the two directed ones."))
    hd95_space: Literal["original", "network"] = Field("original", description=(
        "Where HD95 is measured: on the original image (default), or, as some published benchmarks do, on the "
        "network's input square (\"network\": letterbox padding included, pixels of that size)."))
    hd95_empty: Literal["diagonal", "drop_false_alarms"] = Field("diagonal", description=(
        "HD95 when one mask is empty: the image diagonal (default), or \"drop_false_alarms\": a lesion predicted "
        "on a normal image is left out of the HD95 mean (a missed lesion still scores the diagonal)."))
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="Probability above which a pixel is lesion.")
    batch_size: int = Field(16, ge=1, description="Inference batch size.")
    compile: bool = Field(False, description=(
        "torch.compile the fold models for test inference (busbench.train.compile): 1.3-1.7x faster on the 2-core "
        "CPU after a minute or two of compiling per model."))
    tta: list[Literal["hflip", "vflip", "rot180"]] = Field(default_factory=list, description=(
        "Test-time augmentation views averaged with the plain image, for every prediction."))
    _distinct_views = field_validator("tta")(distinct)
    postprocess: bool = Field(True, description=(
        "Choose post-processing on out-of-fold predictions and score the fold ensemble with it."))
    cross_datasets: list[DataConfig] = Field(default_factory=list, description=(
        "Cross-dataset generalisation: also score every fold model on these datasets' held-out test sets "
        "(each a `data` section)."))
    cross_dataset_overlap: Literal["drop", "keep"] = Field("drop", description=(
        "Their test images that a fold model trained on are dropped (and counted); \"keep\" is marked in every "
        "table."))


class TrackingConfig(_Section):
    """Experiment trackers, off by default; each is an optional extra (busbench.train.tracking)."""

    tensorboard: bool = Field(False, description=(
        "Write TensorBoard event files per fold to <run>/fold-<k>/tensorboard: losses, validation metrics and "
        "learning rate per epoch, test metrics at the end. Needs `pip install 'busbench[tensorboard]'`."))
    mlflow: bool = Field(False, description=(
        "Log one MLflow run per fold (experiment = `name`): the config as params, metrics per epoch, test "
        "metrics, the fold's and the cell's summary files as artifacts; to MLFLOW_TRACKING_URI when set, else "
        "to the local store <output_dir>/mlruns. Needs `pip install 'busbench[mlflow]'`."))


class GridConfig(_Section):
    datasets: list[DataConfig] = Field(default_factory=list, description=(
        "Datasets of the grid, each a `data` section (default: `data`)."))
    models: list[ModelConfig] = Field(default_factory=list, description=(
        "Models of the grid, each a `model` section (default: `model`)."))
    protocol: Literal["each_dataset", "leave_one_dataset_out"] = Field("each_dataset", description=(
        "\"each_dataset\": one cell per dataset of `datasets`; \"leave_one_dataset_out\": one cell per dataset "
        "left out, trained on the pool of the others and scored on every test set, the left-out one's included."))

    @model_validator(mode="after")
    def _enough_to_leave_out(self) -> GridConfig:
        if self.protocol == "leave_one_dataset_out" and len(self.datasets) < 3:
            raise ValueError("grid.protocol leave_one_dataset_out needs three or more grid.datasets (each cell "
                             f"pools all but one), got {len(self.datasets)}")
        return self

    def training_data(self) -> list[tuple[DataConfig, list[DataConfig]]]:
        """Each cell's training data and the datasets it is scored on besides its own test set(s)."""
        if self.protocol == "each_dataset":
            return [(dataset, []) for dataset in self.datasets]
        return [(DataConfig(pool=[d for d in self.datasets if d is not out]), [out]) for out in self.datasets]


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


class ExperimentConfig(_Section):
    name: str = Field("experiment", description="The experiment's folder under output_dir.")
    output_dir: Path = Field(Path("runs"), description="Where runs are written; relative: from the working directory.")
    data: DataConfig = Field(default_factory=DataConfig, description="The dataset.")
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

    _plain_name = field_validator("name")(folder_name)

    @model_validator(mode="after")
    def _input_size_suits_every_model(self) -> ExperimentConfig:
        """A size a model cannot take fails here, not after prepare, split and cache have run."""
        from busbench.models import check_input_size

        for cell in self.cells():  # declared sizes only: a plugin's forward pass waits until it is built
            check_input_size(cell.model.name, self.input.size, cell.model.kwargs)
        return self

    def cells(self) -> list[ExperimentConfig]:
        """One configuration per (dataset, model) of the grid; just this one without a grid."""
        if self.grid is None:
            return [self]
        datasets = self.grid.training_data() or [(self.data, [])]
        models = self.grid.models or [self.model]
        return [self.model_copy(update={"data": d, "model": m, "grid": None, "eval": self._also_scored_on(left_out)})
                for d, left_out in datasets for m in models]

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
