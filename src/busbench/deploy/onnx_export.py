"""`busbench export onnx`: a run's fold models as ONNX files, with what ``predict`` needs beside them.

Each fold model is exported with torch's TorchScript-based exporter (``dynamo=False``: it needs
no onnxscript) at opset ``OPSET`` (``onnx_graphs``), with dynamic batch and, where the architecture
allows, dynamic height and width, then run in ONNX Runtime and compared with PyTorch. ``--ensemble``
adds ``ensemble.onnx``: every fold model and TTA view in one graph giving the mean probability.
``--quantize int8`` adds int8 copies, admitted by the run's own test Dice (``int8_gate``).

Every file carries the settings in its metadata; ``busbench_onnx.json`` repeats them for
``busbench predict --engine onnxruntime --run DIR``; ``busbench_postprocess.py`` (NumPy and OpenCV)
does the pre- and post-processing outside busbench; ``MODEL_CARD.md`` describes it all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from busbench.config import EvalConfig, InputConfig, ModelConfig
from busbench.data.export.held_out import check_empty
from busbench.deploy import busbench_postprocess
from busbench.deploy.int8_gate import (
    INT8_TOLERANCE,
    QUANTIZATIONS,
    Int8Check,
    check_int8,
    held_out_cases,
    quantize_int8,
)
from busbench.deploy.model_card import write_model_card
from busbench.deploy.onnx_graphs import (
    OPSET,
    PROBABILITY_NAME,
    Exported,
    Shapes,
    export_ensemble,
    export_fold,
    shapes_for,
    with_metadata,
)
from busbench.deploy.onnx_runtime import INPUT_NAME, OUTPUT_NAME, OnnxRuntimeModel, import_onnxruntime
from busbench.errors import BusbenchError
from busbench.evaluate.postprocess import PostProcessing
from busbench.evaluate.predict import RunSettings, TrainedRun, load_run
from busbench.layout.atomic import write_bytes, write_json
from busbench.layout.folders import ONNX_JSON, ONNX_SUFFIX, CellFolder
from busbench.version import __version__

FORMAT = "busbench-onnx/1"
ENSEMBLE_FILE = "ensemble.onnx"
REFERENCE_SCRIPT = "busbench_postprocess.py"
ENSEMBLE = ("the mean of sigmoid(logits) over every model and every view: the plain image and each TTA view "
            "(hflip: flip width, vflip: flip height, rot180: both), each flipped back before averaging")
WHITE_LEVEL = ("16-bit images are first made 8-bit as the training images were: 0..white_level -> 0..255, "
               "rounded (null: not recorded; 8-bit images are used as they are)")
RESIZE = {"letterbox": "longer side scaled to size (rounded; OpenCV INTER_AREA when shrinking, INTER_LINEAR when "
                        "enlarging), the other padded with zeros, (size - inner) // 2 before it: the odd pixel of "
                        "padding goes to the bottom/right",
          "resize": "stretched to size x size (OpenCV INTER_AREA when shrinking, INTER_LINEAR when enlarging)"}
RESIZE_BACK = ("the padding cropped away, then the probability resized to the original height x width (OpenCV "
               "INTER_AREA when shrinking, INTER_LINEAR when enlarging), before the threshold")
POSTPROCESSING = ("on the thresholded mask at the original size, in this order: fill_holes (background "
                  "4-connectivity), min_area_fraction (components of 8-connectivity smaller than "
                  "round(fraction x height x width) px removed), keep_largest (8-connectivity), boundary_median "
                  "(a median filter of that size, edge pixels replicated, applied only within size // 2 px, "
                  "4-connectivity steps, of the lesion boundary); busbench_postprocess.py does exactly this")


def export_checked(model: nn.Module, channels: int, size: int, name: str) -> tuple[bytes, float]:
    """The ONNX file (fixed size) of ``model`` and its max probability difference, refused above
    ``PARITY_TOLERANCE``: what ``profile --engine onnxruntime`` measures."""
    exported = export_fold(model, Shapes(channels, size, None), name, OUTPUT_NAME)
    return exported.data, exported.difference


def _description(trained: TrainedRun, run_dir: Path, dynamic: bool, parity: dict[str, float]) -> dict[str, Any]:
    """The settings every file and ``busbench_onnx.json`` carry."""
    cfg = trained.config
    size, channels = cfg.input.size, cfg.input.channels
    provenance = json.loads(CellFolder(run_dir).postprocessing_json.read_text()).get("provenance", {})
    spatial = "height" if dynamic else size
    return {
        "format": FORMAT, "busbench_version": __version__, "opset": OPSET,
        "input": {"name": INPUT_NAME, "shape": ["batch", channels, spatial, "width" if dynamic else size],
                  "dtype": "float32", "size": size, "channels": channels,
                  "spatial_axes": (f"dynamic: any side the architecture takes; busbench trained and scored at "
                                   f"{size} x {size}" if dynamic else f"fixed at {size} x {size}: letterbox or resize "
                                   "to it"),
                  "colour": "grey" if channels == 1 else "RGB",
                  "normalisation": "pixel value / 255 (no mean or std)", "scaling": "pixel value / 255",
                  "white_level": trained.white_level, "white_level_means": WHITE_LEVEL,
                  "resize": cfg.input.resize, "resize_means": RESIZE[cfg.input.resize]},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", 1, spatial, "width" if dynamic else size],
                   "probability": "sigmoid(logits)"},
        "tta": list(cfg.evaluation.tta), "tta_in_graph": False, "ensemble": ENSEMBLE,
        "threshold": cfg.evaluation.threshold,
        "threshold_means": "lesion where probability >= threshold, after mapping back to the original size",
        "resize_back": RESIZE_BACK, "postprocessing": asdict(trained.postprocessing),
        "postprocessing_means": POSTPROCESSING, "postprocessing_chosen": trained.postprocessing.describe(),
        "reference_script": REFERENCE_SCRIPT,
        "model": {"name": cfg.model.name, "kwargs": cfg.model.kwargs, "key": cfg.model.key()},
        "test_set_sha256": provenance.get("test_set_sha256"), "provenance": provenance,
        "source_run": str(Path(run_dir).resolve()), "max_probability_difference": parity,
    }


def _ensemble_spec(spec: dict[str, Any], folds: int) -> dict[str, Any]:
    """What differs for the one-file ensemble: it gives the averaged probability, TTA inside."""
    output = {**spec["output"], "name": PROBABILITY_NAME,
              "probability": f"already the mean over {folds} fold models and the TTA views (no sigmoid to apply)"}
    return {**spec, "output": output, "tta_in_graph": True}


def _role(name: str) -> str:
    return "ensemble with TTA views" if name == ENSEMBLE_FILE else "fold model"


def _plain_entries(spec: dict[str, Any], role: str) -> dict[str, str]:
    """The settings a viewer such as Netron shows at a glance, beside the full JSON."""
    return {"role": role, "input_size": str(spec["input"]["size"]), "resize": spec["input"]["resize"],
            "normalisation": spec["input"]["normalisation"], "threshold": str(spec["threshold"]),
            "tta": ",".join(spec["tta"]), "postprocessing": json.dumps(spec["postprocessing"]),
            "busbench_version": __version__, "test_set_sha256": str(spec["test_set_sha256"])}


@dataclass(frozen=True)
class ExportOptions:
    """``--ensemble``, ``--quantize`` (None or ``int8``) and ``--int8-tolerance``."""

    ensemble: bool = False
    quantize: str | None = None
    int8_tolerance: float = INT8_TOLERANCE


def export_run(run_dir: Path, out: Path, options: ExportOptions = ExportOptions()) -> Path:
    """Every fold model of a run folder as ``fold-<k>.onnx`` (and the options' files) plus
    ``busbench_onnx.json``, the reference script and the model card in ``out``. Every check runs
    before the first file is written."""
    if options.quantize not in (None, *QUANTIZATIONS):
        raise BusbenchError(f"--quantize {options.quantize!r}: choose {' or '.join(QUANTIZATIONS)} (or leave it out "
                            "for fp32 only)")
    import_onnxruntime()
    trained = load_run(run_dir, torch.device("cpu"), allow_partial=None)  # a partial export is never offered
    check_empty(out)  # another export's files (an ensemble, int8 copies) would be taken for this one's
    cfg = trained.config
    folds = [fold.path.name for fold in CellFolder(run_dir).folds() if fold.done]  # load_run's models
    shapes = shapes_for(cfg.model.name, cfg.input.channels, cfg.input.size)
    exported: dict[str, Exported] = {f"{fold}{ONNX_SUFFIX}": export_fold(model, shapes, cfg.model.name, OUTPUT_NAME)
                                     for fold, model in zip(folds, trained.models)}
    if options.ensemble:
        exported[ENSEMBLE_FILE] = export_ensemble(trained.models, cfg.evaluation.tta, shapes, cfg.model.name)
    dynamic = all(e.dynamic for e in exported.values())
    spec = _description(trained, run_dir, dynamic, {name: e.difference for name, e in exported.items()})
    specs = {name: _ensemble_spec(spec, len(folds)) if name == ENSEMBLE_FILE else spec for name in exported}
    files = {name: with_metadata(e.data, specs[name], _plain_entries(specs[name], _role(name)))
             for name, e in exported.items()}
    report: Int8Check | None = None
    if options.quantize:
        files, report = _int8_files(run_dir, files, specs, options)
        spec["int8"] = report.as_dict()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_bytes(data, out / name)
    write_json({**spec, "models": [f"{fold}{ONNX_SUFFIX}" for fold in folds],
                "ensemble_model": ENSEMBLE_FILE if options.ensemble else None,
                "files": sorted(files)}, out / ONNX_JSON, sort_keys=False)
    write_bytes(Path(busbench_postprocess.__file__).read_bytes(), out / REFERENCE_SCRIPT)
    write_model_card(out, spec, sorted(files), report)
    return out / ONNX_JSON


def _int8_files(run_dir: Path, files: dict[str, bytes], specs: dict[str, dict[str, Any]],
                options: ExportOptions) -> tuple[dict[str, bytes], Int8Check]:
    """``files`` with an int8 copy of each, once the test set admits them (the ensemble file is checked where
    exported, else the fold files together)."""
    quantized = {name.replace(ONNX_SUFFIX, f".int8{ONNX_SUFFIX}"): with_metadata(  # the quantiser keeps no metadata
        quantize_int8(data), {**specs[name], "weights": "int8 (ONNX Runtime dynamic quantisation)"},
        _plain_entries(specs[name], f"{_role(name)}, int8")) for name, data in files.items()}
    checked = [ENSEMBLE_FILE] if ENSEMBLE_FILE in files else [name for name in files if name != ENSEMBLE_FILE]
    spec = specs[checked[0]]
    report = check_int8([files[name] for name in checked],
                        [quantized[name.replace(ONNX_SUFFIX, f".int8{ONNX_SUFFIX}")] for name in checked],
                        spec, held_out_cases(run_dir), options.int8_tolerance)
    return {**files, **quantized}, report


def load_onnx_run(export_dir: Path, device: torch.device) -> TrainedRun:
    """An exported run for ``predict``: ONNX Runtime models with the run's input, TTA and post-processing."""
    export_dir = Path(export_dir)
    path = export_dir / ONNX_JSON
    if not path.is_file():
        raise BusbenchError(f"{export_dir}: no {ONNX_JSON}; with --engine onnxruntime, --run is a folder written by "
                            "`busbench export onnx RUN --out DIR`")
    spec = json.loads(path.read_text())
    if spec.get("format") != FORMAT:
        raise BusbenchError(f"{path}: format {spec.get('format')!r}, expected {FORMAT}; export the run again")
    source = spec["input"]
    # only what predict reads; the architecture's code is not needed, so it is not looked up
    config = RunSettings(ModelConfig.model_construct(**{k: spec["model"][k] for k in ("name", "kwargs")}),
                         InputConfig(size=source["size"], channels=source["channels"], resize=source["resize"]),
                         EvalConfig(threshold=spec["threshold"], tta=spec["tta"]), amp="off",
                         fixed_precision="ONNX Runtime runs the exported fp32 models")
    models: list[nn.Module] = [OnnxRuntimeModel(export_dir / name, device) for name in spec["models"]]
    return TrainedRun(export_dir, config, models, PostProcessing(**spec["postprocessing"]),
                      white_level=source.get("white_level"))

