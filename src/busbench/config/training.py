"""The settings of a fold's training: loss, optimiser, schedule and the training loop (``train``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from busbench.augment import PRESETS
from busbench.config.choices import enum_of, registered
from busbench.config.distinct import Distinct
from busbench.config.section import Section
from busbench.losses import LOSSES


class LossConfig(Section):
    name: str = Field("bce_dice", json_schema_extra=enum_of(LOSSES), description=(
        "Training loss; a model that returns a list (deep supervision) gets the weighted sum over its outputs."))
    kwargs: dict[str, Any] = Field(default_factory=dict, description=(
        "The loss's arguments, e.g. batch_dice, smooth, bce_weight, dice_weight."))

    _registered = field_validator("name")(registered(LOSSES))


class OptimizerConfig(Section):
    name: Literal["adamw", "sgd"] = Field("adamw", description="AdamW, or SGD with Nesterov momentum.")
    lr: float = Field(1e-3, gt=0.0, description="Learning rate reached after the warm-up.")
    weight_decay: float = Field(1e-4, ge=0.0, description="Weight decay.")
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD's momentum (unused by AdamW).")


class ScheduleConfig(Section):
    name: Literal["cosine", "poly", "constant"] = Field("cosine", description=(
        "Learning-rate schedule, stepped every iteration."))
    warmup_epochs: int = Field(0, ge=0, description=(
        "Linear warm-up from 0 to optimizer.lr; at or above train.epochs the set rate is never reached (warned)."))
    power: float = Field(0.9, gt=0.0, description="Exponent of the poly schedule.")
    min_lr_ratio: float = Field(0.01, ge=0.0, le=1.0, description="Final learning rate as a fraction of lr.")


# select_metric values of earlier versions: both averaged over every validation image.
LEGACY_SELECT_METRICS = {"dice": "image_dice", "iou": "image_iou"}


def _false_is_off(schema: dict[str, Any]) -> None:
    """The editor schema of ``train.amp`` takes YAML's false too, as ``_off_as_yaml_reads_it`` does."""
    del schema["type"]
    schema["enum"] = [*schema["enum"], False]


class TrainConfig(Section):
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
    max_minutes: float | None = Field(None, gt=0.0, description=(
        "Wall-clock budget of each fold model's training, in minutes (epochs with their validation, resumed ones "
        "counted); a fold stops after the epoch past which the next, as long as the last, would exceed it, so it "
        "keeps the budget but for a first epoch longer than it. Equal minutes per model is a protocol of its own "
        "(compare at matched compute); done.json records why each fold stopped (epochs, patience or budget). "
        "null: no budget."))
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
    channels_last: bool = Field(False, description=(
        "Channels-last memory format in training and inference (faster with bf16 on CPUs and GPUs)."))
    compile: bool = Field(False, description=(
        "torch.compile the network for training and validation (busbench.train.compile); on the 2-core CPU it "
        "slowed training. eval.compile does the same for test inference, where it helped. Needs a C++ compiler "
        "on the CPU and a C compiler (Triton) on CUDA, checked before training starts."))
    multi_gpu: bool = Field(False, description=(
        "Split each batch over every visible GPU (nn.DataParallel), train.device first; fold jobs on separate "
        "GPUs scale better. Each GPU computes batch-norm statistics over its share of the batch."))
    amp: Literal["auto", "off", "bf16", "fp16"] = Field("auto", json_schema_extra=_false_is_off, description=(
        "Mixed precision (busbench.train.device): \"auto\" is bf16 where the device computes it natively (GPUs "
        "of compute capability 8.0+; CPUs with AVX-512 BF16, AMX or Arm BF16: 2.0-2.4x faster training steps on "
        "the 2-core development CPU), fp16 with a gradient scaler on older GPUs (T4, V100, RTX 20xx), else fp32; "
        "\"bf16\" forces bf16, except on a CPU without native bf16, where it would run ~300x slower and fp32 is "
        "used with a warning; \"fp16\" needs CUDA; \"off\" (YAML's off/no/false too) is fp32. The precision "
        "used and why is recorded in environment.json as the cell starts, and each fold's in its done.json."))
    seed: int = Field(0, description="Seed of initialisation, shuffling and augmentation.")
    seeds: Distinct[int] = Field(default_factory=list, description=(
        "Train every cell once per seed (run-to-run variance, as nnU-Net Revisited asks): each seed is a cell of "
        "its own, `<model key>-seed<N>`, on the same split and folds, run, resumed and sent to SLURM like any "
        "cell; `train.seed` is then ignored. The report averages the seeds of a model into one row (mean, seed "
        "SD, a bootstrap over groups and seeds). Empty: one cell with `train.seed`."))
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
