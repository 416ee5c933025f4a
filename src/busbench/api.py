"""busbench from Python: build a model, predict with a finished run, read a split, score masks.

A thin layer over what the commands use, for notebooks and scripts; ``import busbench`` gives
each function (``busbench.load_run(...)``) without loading torch until one is called. Errors
are ``busbench.errors.BusbenchError`` with a one-line message saying what to pass instead.

Every example below runs as a test (``tests/test_api.py``), after ``import busbench``,
``import numpy as np`` and ``import torch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from busbench.data.io import image_array
from busbench.data.split.record import Split
from busbench.data.split.record import load_split as _load_split
from busbench.errors import BusbenchError
from busbench.evaluate.predict import TrainedRun, predict_image
from busbench.evaluate.predict import load_run as _load_trained_run
from busbench.metrics.per_image import image_metrics
from busbench.models import build_model, model_names
from busbench.records import read_environment
from busbench.train.device import inference_precision, resolve_device

__all__ = ["Run", "create_model", "list_models", "load_run", "load_split", "score"]


def create_model(name: str, in_channels: int = 3, num_classes: int = 1, **kwargs: object) -> nn.Module:
    """A network by its registered name, randomly initialised (as ``model.name`` and
    ``model.kwargs`` build it in a config); unknown names and arguments are errors naming the valid ones.

    Args:
        name: a name of ``list_models()``, an installed plugin's, or an import path ``module:attribute``.
        in_channels: input channels (3: grey images are repeated, as ``input.channels: 3`` does).
        num_classes: output channels; busbench's models predict one lesion logit map.
        **kwargs: the model's own arguments (``base_channels`` for ``unet``, ...).

    Returns:
        A ``torch.nn.Module`` mapping (N, in_channels, H, W) to (N, num_classes, H, W) logits.

    Examples:
        >>> net = busbench.create_model("unet", base_channels=4)
        >>> net(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 1, 64, 64])
    """
    return build_model(name, in_channels, num_classes, **kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """The model names ``create_model`` and configs accept that match a shell-style ``pattern``
    (``*`` any characters, ``?`` one, case-sensitive): busbench's own and those of installed optional
    libraries (``monai.UNet``), sorted, then installed plugins'.

    Examples:
        >>> busbench.list_models("unet_resnet*")
        ['unet_resnet18', 'unet_resnet34', 'unet_resnet50']
    """
    return [name for name in model_names() if fnmatchcase(name, pattern)]


def load_split(path: str | Path) -> Split:
    """A split file of ``busbench split`` (``split-*.json`` in a data folder), checked field by field.

    It is not checked against its manifest here (``busbench run`` does that): this reads a split
    in a results folder after the data is gone. A missing, damaged or hand-edited file is one
    ``BusbenchError`` naming it.

    Returns:
        A ``Split`` with ``held_out()`` (the test case ids), ``development()`` (case id to fold),
            ``fold(k)`` (fold k's case ids), ``groups`` (case id to leakage group), ``folds``,
            ``test_set_sha256``, ``settings`` and ``cases``.

    Examples:
        ``split_path`` is a split file (``OUTPUT_DIR/data/<dataset key>/split-*.json``):

        >>> split = busbench.load_split(split_path)
        >>> split.folds, sorted(set(split.development().values()))
        (2, [1, 2])
        >>> set(split.held_out()).isdisjoint(split.fold(1) + split.fold(2))
        True
    """
    return _load_split(Path(path))


@dataclass(frozen=True)
class Run:
    """A finished run's fold models, settings and post-processing, ready to predict arrays as
    ``busbench predict`` predicts image files (the same reading, TTA, threshold and post-processing)."""

    trained: TrainedRun
    device: torch.device
    test_set_sha256: str | None  # the held-out test set it was scored on (environment.json); None if not recorded

    @property
    def path(self) -> Path:
        return self.trained.path

    @property
    def model(self) -> str:
        """The model's name (``model.name``)."""
        return self.trained.config.model.name

    @property
    def folds(self) -> int:
        """How many fold models predict (averaged as an ensemble)."""
        return len(self.trained.models)

    def predict_proba(self, image: np.ndarray) -> np.ndarray:
        """The ensemble's lesion probability of each pixel, float32 (H, W), before the threshold.

        Args:
            image: uint8 (0-255) grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4), or uint16 grey (H, W),
                read as ``busbench predict`` reads a PNG of it. A float array is refused: convert a
                [0, 1] image with ``(image * 255).round().astype(numpy.uint8)``.
        """
        return self._predict(image)[0]

    def predict(self, image: np.ndarray) -> np.ndarray:
        """The lesion mask of ``image`` (see ``predict_proba``): uint8 (H, W), 1 for lesion, after the
        run's threshold and chosen post-processing."""
        return self._predict(image)[1]

    def _predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.trained.config
        pixels = image_array(np.asarray(image), cfg.input.channels, self.trained.white_level)
        probability, mask = predict_image(self.trained, pixels, self.device, list(cfg.evaluation.tta),
                                          inference_precision(cfg.amp, self.device).dtype)
        return probability.astype(np.float32), mask.astype(np.uint8)


def load_run(path: str | Path, device: str = "auto", allow_partial: bool = False) -> Run:
    """A finished run of ``busbench run``, to predict arrays in memory.

    Args:
        path: the run's cell folder, ``OUTPUT_DIR/<name>/<dataset key>/<model key>`` (the folder
            holding ``config.yaml``, ``fold-<k>/`` and ``summary.csv``).
        device: ``auto`` (a GPU when there is one), ``cpu``, ``cuda``, ``cuda:1``, ...
        allow_partial: predict with the finished folds only and no post-processing, as
            ``busbench predict --allow-partial`` does; otherwise an unfinished run is refused.

    Returns:
        A ``Run`` with ``predict(image)`` (a uint8 mask), ``predict_proba(image)`` (float32) and
            the attributes ``model``, ``folds``, ``test_set_sha256`` and ``path``.

    Examples:
        ``run_dir`` is a finished run's cell folder:

        >>> run = busbench.load_run(run_dir, device="cpu")
        >>> run.model, run.folds, len(run.test_set_sha256)
        ('unet', 2, 64)
        >>> image = np.random.default_rng(0).integers(0, 256, (48, 64), dtype=np.uint8)
        >>> mask = run.predict(image)
        >>> mask.shape, mask.dtype, set(np.unique(mask)) <= {0, 1}
        ((48, 64), dtype('uint8'), True)
        >>> run.predict_proba(image).dtype
        dtype('float32')
        >>> run.predict(image / 255.0)
        Traceback (most recent call last):
        busbench.errors.BusbenchError: image: a float64 array of shape (48, 64); pass uint8 values 0-255 ...
    """
    device_ = resolve_device(device, "device")
    trained = _load_trained_run(Path(path), device_, allow_partial, "allow_partial=True")
    return Run(trained, device_, read_environment(trained.path).test_set_sha256)


def score(pred_masks: Sequence[np.ndarray], true_masks: Sequence[np.ndarray]) -> pd.DataFrame:
    """Per-image metrics of predicted masks against the ground truth, as ``busbench run`` scores
    test images: Dice, IoU, precision, recall, specificity, accuracy and HD95 (pixels, pooled
    boundary distances), with its empty-mask rules (both empty: 1 and HD95 0; exactly one empty:
    0 and HD95 the image diagonal, named in ``empty_case``).

    Args:
        pred_masks: masks (H, W), boolean or integer, lesion where non-zero; an (N, H, W) array works too.
        true_masks: the ground-truth masks, in the same order and of the same shapes.

    Returns:
        A pandas DataFrame with one row per image, in the order given, and the columns ``image``
            (its position), ``dice``, ``iou``, ``precision``, ``recall``, ``specificity``,
            ``accuracy``, ``hd95`` and ``empty_case`` ("", ``both_empty``, ``missed_lesion`` or
            ``false_alarm``).

    Examples:
        >>> truth = np.zeros((32, 32), bool)
        >>> truth[8:24, 8:24] = True
        >>> half = truth.copy()
        >>> half[:, 16:] = False
        >>> table = busbench.score([truth, half, np.zeros_like(truth)], [truth, truth, truth])
        >>> table["dice"].round(3).tolist(), table["empty_case"].tolist()
        ([1.0, 0.667, 0.0], ['', '', 'missed_lesion'])
    """
    if len(pred_masks) != len(true_masks):
        raise BusbenchError(f"score: {len(pred_masks)} predicted masks but {len(true_masks)} true masks; "
                            "pass one prediction per ground truth, in the same order")
    rows = []
    for index, (pred, truth) in enumerate(zip(pred_masks, true_masks)):
        for what, mask in (("pred_masks", pred), ("true_masks", truth)):
            mask = np.asarray(mask)
            if mask.ndim != 2 or not (mask.dtype == bool or np.issubdtype(mask.dtype, np.integer)):
                raise BusbenchError(f"score: {what}[{index}] is a {mask.dtype} array of shape {mask.shape}; pass "
                                    "(H, W) masks, boolean or integer (a probability map: probability >= 0.5)")
        if np.shape(pred) != np.shape(truth):
            raise BusbenchError(f"score: image {index}: predicted mask {np.shape(pred)} and true mask "
                                f"{np.shape(truth)} differ in shape; resize the prediction to the ground truth")
        rows.append({"image": index, **image_metrics(np.asarray(pred), np.asarray(truth))})
    return pd.DataFrame(rows)
