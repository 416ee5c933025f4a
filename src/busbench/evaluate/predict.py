"""`busbench predict`: new images -> lesion masks, with a run's fold ensemble, TTA and post-processing.

Each image is read as training read it (grey or RGB, high-bit-depth images scaled from the white
level the run recorded for its training images), placed into the network input the same way
(letterbox or resize), predicted by every fold model with the run's test-time augmentation, the
probabilities averaged, mapped back to the original size, thresholded and post-processed with the
steps chosen for the run. Outputs: ``masks/<name>.png`` (0/255, original size), optionally
``overlays/<name>.png``, and ``predictions.csv`` with the lesion area and two confidence values:
the highest lesion probability in the image and the mean probability inside the predicted lesion.

Only a finished run predicts: every fold's ``done.json`` (its ``best.pt`` checked against the hash
recorded there) and the chosen post-processing. ``allow_partial`` predicts with the finished folds
only, without post-processing, and says so in ``predictions.csv`` (column ``partial_run``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from busbench.config import EvalConfig, InputConfig, ModelConfig, SplitConfig, validate_config
from busbench.data.adapters.pairing import IMAGE_SUFFIXES, is_image_file
from busbench.data.geometry import place_image, placement_for, to_original
from busbench.data.io import UnreadableImageError, intensity_scale, read_image, scaling_like_training
from busbench.data.run_data import run_split
from busbench.data.torch_dataset import image_batch
from busbench.errors import BusbenchError
from busbench.evaluate.inference import ensemble_probabilities
from busbench.evaluate.postprocess import PostProcessing
from busbench.layout.atomic import write_csv, write_png
from busbench.layout.folders import CONFIG_YAML, CellFolder
from busbench.log import counted, logger
from busbench.metrics.surface import boundary
from busbench.progress import progress
from busbench.records import read_done, read_environment
from busbench.train import checkpoint
from busbench.train.device import Precision, inference_precision, log_precision, place_model
from busbench.train.trainer import build_fold_model

PREDICTIONS_CSV = "predictions.csv"
INTEGER_COLUMNS = ("width", "height", "lesion_area_px")


@dataclass(frozen=True)
class RunSettings:
    """The sections of a run's config that prediction reads."""

    model: ModelConfig
    input: InputConfig
    evaluation: EvalConfig
    amp: str  # train.amp, the precision it trained in
    fixed_precision: str | None = None  # why the models compute in fp32 whatever amp says (an ONNX export)


@dataclass(frozen=True)
class TrainedRun:
    """What prediction needs from a run folder."""

    path: Path
    config: RunSettings
    models: list[nn.Module]
    postprocessing: PostProcessing
    partial: str = ""  # what an --allow-partial prediction lacks; empty for a finished run
    white_level: int | None = None  # what the training images were scaled from (io.IntensityScale); None: unknown


def _unfinished_folds(run_dir: Path, split: SplitConfig) -> list[str]:
    """Folds without ``done.json``: begun, or not begun of the split's folds (from the settings, or from the
    split file for an official or a registry split, whose fold count the settings do not give)."""
    cell = CellFolder(run_dir)
    begun = {fold.number: fold for fold in cell.folds()}
    fixed_elsewhere = split.official or split.registry
    recorded = run_split(cell) if fixed_elsewhere else None
    folds = recorded.folds if recorded is not None else 0 if fixed_elsewhere else split.folds
    expected = set(range(1, folds + 1)) | set(begun)
    return [cell.fold(k).path.name for k in sorted(expected) if k not in begun or not begun[k].done]


def load_run(run_dir: Path, device: torch.device, allow_partial: bool | None = False,
             partial_option: str = "--allow-partial") -> TrainedRun:
    """The fold models, settings and chosen post-processing of a (dataset, model) run folder.

    ``allow_partial``: use an unfinished run's finished folds (True), or refuse it and offer
    ``partial_option`` (False: ``--allow-partial``, the Python API's ``allow_partial=True``), or refuse it
    without (None: a command that has no such option, ``export onnx``)."""
    run_dir = Path(run_dir)
    cell = CellFolder(run_dir)
    config_path = cell.config_yaml
    if not config_path.is_file():
        cells = sorted(p.parent for p in run_dir.rglob(CONFIG_YAML))
        hint = f"; it holds these runs: {', '.join(map(str, cells))}" if cells else ""
        raise BusbenchError(f"{run_dir}: not a busbench run folder (no config.yaml){hint}. "
                            "Give a run folder, OUTPUT_DIR/<name>/<dataset>/<model>")
    config = validate_config(yaml.safe_load(config_path.read_text()), str(config_path))  # edited: names the key
    unfinished = _unfinished_folds(run_dir, config.split)
    post_path = cell.postprocessing_json
    finished = [fold for fold in cell.folds() if fold.done]
    partial = ""
    if unfinished or not post_path.is_file():
        lacking = f"{', '.join(unfinished)} unfinished" if unfinished else "post-processing not chosen yet"
        if not allow_partial or not finished:
            offer = (f", or pass {partial_option} to predict with its finished fold models only and no "
                     f"post-processing (said in {PREDICTIONS_CSV})") if allow_partial is False and finished else ""
            raise BusbenchError(f"{run_dir}: unfinished run ({lacking}); finish it with `busbench run`{offer}")
        partial = (f"partial run: {counted(len(finished), 'finished fold model')} ({lacking}), no post-processing "
                   f"({partial_option})")
    models = []
    for fold in finished:
        fix = f"Delete {fold.path} and train the fold again with `busbench run`"
        checkpoint.verify_checkpoints(fold.path, read_done(fold.path, fix).checkpoints, fold.done_json, fix)
        model = place_model(build_fold_model(config.model, config.input), device, config.train.channels_last)
        model.load_state_dict(checkpoint.load(fold.best_pt)["model"])
        models.append(model.eval())
    post = PostProcessing(**json.loads(post_path.read_text())["postprocessing"]) if not partial else PostProcessing()
    settings = RunSettings(config.model, config.input, config.eval, config.train.amp)
    return TrainedRun(run_dir, settings, models, post, partial, read_environment(run_dir).white_level)


@dataclass(frozen=True)
class Inputs:
    """The images to predict and the other files and sub-folders beside them, which are skipped
    (and said so)."""

    images: list[Path]
    skipped: list[Path]


def collect_inputs(source: Path) -> Inputs:
    """An image file, or the image files directly in a folder (sorted); checked before any work."""
    source = Path(source)
    expected = ", ".join(sorted(IMAGE_SUFFIXES))
    if source.is_file():
        if not is_image_file(source):
            raise BusbenchError(f"--input {source}: not an image file (expected one of {expected})")
        return Inputs([source], [])
    if not source.is_dir():
        raise BusbenchError(f"--input {source}: no such file or folder")
    entries = sorted(p for p in source.iterdir() if not p.name.startswith("."))
    images = [p for p in entries if p.is_file() and is_image_file(p)]
    if not images:
        raise BusbenchError(f"--input {source}: no image files ({expected}) in this folder")
    return Inputs(images, [p for p in entries if p not in images])  # other files and sub-folders


def _output_names(paths: list[Path]) -> list[str]:
    stems = [p.stem for p in paths]
    return [f"{p.stem}_{p.suffix.lstrip('.')}.png" if stems.count(p.stem) > 1 else f"{p.stem}.png" for p in paths]


def overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB image with the lesion tinted red and its boundary drawn in red."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    rgb = rgb.astype(np.float32)
    rgb[mask] = 0.7 * rgb[mask] + 0.3 * np.array([255.0, 0.0, 0.0])
    rgb[boundary(mask)] = (255.0, 0.0, 0.0)
    return rgb.astype(np.uint8)


def predict_image(run: TrainedRun, image: np.ndarray, device: torch.device, tta: list[str],
                  dtype: torch.dtype | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lesion probability and post-processed mask of one uint8 image, both at its size."""
    cfg = run.config
    placement = placement_for(image.shape[0], image.shape[1], cfg.input.size, cfg.input.resize)
    batch = image_batch(place_image(image, placement)[None]).to(device)
    probability = to_original(ensemble_probabilities(run.models, batch, tta, dtype)[0].cpu().numpy(), placement)
    return probability, run.postprocessing.apply(probability >= cfg.evaluation.threshold)


@dataclass(frozen=True)
class PredictOptions:
    """``predict``'s choices over the run's own: ``tta`` views (None: the run's ``eval.tta``), overlay
    images beside the masks, and ``amp`` (``--amp``; None: the run's ``train.amp``)."""

    tta: list[str] | None = None
    with_overlays: bool = False
    amp: str | None = None


def predict_images(run: TrainedRun, inputs: list[Path], out_dir: Path, device: torch.device,
                   options: PredictOptions = PredictOptions()) -> pd.DataFrame:
    """Predict every input; unreadable files get a row with the error instead of a mask.

    Whichever ``amp`` applies, the precision suits ``device`` (a run trained in fp16 is predicted
    in fp32 on the CPU).

    When no input can be read, nothing is written and the error lists why.
    """
    cfg, tta, with_overlays, amp = run.config, options.tta, options.with_overlays, options.amp
    views: list[str] = list(cfg.evaluation.tta) if tta is None else tta
    if cfg.fixed_precision is not None:
        precision = Precision(None, cfg.fixed_precision + ("" if amp is None else f"; --amp {amp} does not apply"))
    elif amp is None:
        precision = inference_precision(cfg.amp, device)
    else:
        precision = inference_precision(amp, device, "--amp")
    log_precision(precision)
    dtype = precision.dtype
    own = intensity_scale(inputs)  # one scale for the whole input, as `prepare` scales a dataset
    scaling = scaling_like_training(own, run.white_level)
    if own.maximum is not None:
        logger.info(f"--input: {scaling.note}")
    if scaling.warning:
        logger.warning(f"--input: {scaling.warning}")
    records: list[dict[str, object]] = []
    for path, name in progress(list(zip(inputs, _output_names(inputs))), "Predicting", total=len(inputs)):
        try:
            image = read_image(path, cfg.input.channels, scaling.white)
        except UnreadableImageError as exc:
            records.append({"image": str(path), "error": str(exc)})
            continue
        probability, mask = predict_image(run, image, device, views, dtype)
        for folder in ("masks", "overlays") if with_overlays else ("masks",):
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
        write_png(mask.astype(np.uint8) * 255, out_dir / "masks" / name)
        if with_overlays:
            grey = image if image.ndim == 2 else image.mean(axis=2).astype(np.uint8)
            write_png(overlay(grey, mask), out_dir / "overlays" / name)
        records.append({
            "image": str(path), "mask": f"masks/{name}", "width": image.shape[1], "height": image.shape[0],
            "lesion_area_px": int(mask.sum()), "lesion_area_fraction": float(mask.mean()),
            "max_probability": float(probability.max()),
            "mean_lesion_probability": float(probability[mask].mean()) if mask.any() else 0.0, "error": "",
        })
    if all(r["error"] for r in records):
        reasons = "; ".join(str(r["error"]) for r in records[:3])
        raise BusbenchError(f"--input: no image could be read ({reasons}); nothing was written to {out_dir}")
    table = pd.DataFrame(records).astype({column: "Int64" for column in INTEGER_COLUMNS})
    if run.partial:
        table["partial_run"] = run.partial
    write_csv(table, out_dir / PREDICTIONS_CSV)
    return table
