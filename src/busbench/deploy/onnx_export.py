"""`busbench export onnx`: a run's fold models as ONNX files, with what ``predict`` needs beside them.

Each fold model is exported with torch's TorchScript-based exporter (``dynamo=False``: it needs
no onnxscript) at opset ``OPSET``, with a dynamic batch dimension, then run once in ONNX Runtime
on random images and compared with PyTorch: a file whose probabilities differ by more than
``PARITY_TOLERANCE`` is refused. ``busbench_onnx.json`` records the input (size, channels,
resize mode, scaling, the white level that high-bit-depth images are scaled from), the TTA views,
how the ensemble averages, the threshold and the chosen post-processing, so that the models can be
used outside busbench; ``busbench predict --engine onnxruntime --run DIR`` reads it back.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from busbench.config import EvalConfig, InputConfig, ModelConfig
from busbench.deploy.onnx_runtime import INPUT_NAME, OUTPUT_NAME, OnnxRuntimeModel, import_onnxruntime
from busbench.errors import BusbenchError
from busbench.evaluate.postprocess import PostProcessing
from busbench.evaluate.predict import RunSettings, TrainedRun, load_run
from busbench.layout.atomic import write_bytes, write_json
from busbench.layout.folders import ONNX_JSON, ONNX_SUFFIX, CellFolder

OPSET = 17
FORMAT = "busbench-onnx/1"
PARITY_TOLERANCE = 1e-4  # max |probability difference| between PyTorch and ONNX Runtime on random images
ENSEMBLE = ("the mean of sigmoid(logits) over every model and every view: the plain image and each TTA view "
            "(hflip: flip width, vflip: flip height, rot180: both), each flipped back before averaging")
WHITE_LEVEL = ("16-bit images are first made 8-bit as the training images were: 0..white_level -> 0..255, "
               "rounded (null: not recorded; 8-bit images are used as they are)")
RESIZE = {"letterbox": "longer side scaled to size (OpenCV INTER_AREA when shrinking, INTER_LINEAR when "
                        "enlarging), the other padded symmetrically with zeros",
          "resize": "stretched to size x size (OpenCV INTER_AREA when shrinking, INTER_LINEAR when enlarging)"}


def onnx_bytes(model: nn.Module, channels: int, size: int, name: str) -> bytes:
    """``model`` as an ONNX file with a dynamic batch; a model that cannot be exported is one line why."""
    buffer = io.BytesIO()
    example = torch.rand(2, channels, size, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer warnings
        try:
            # the TorchScript exporter writes to a file object too; torch's annotation names paths only
            torch.onnx.export(model.eval(), (example,), buffer,  # type: ignore[arg-type]
                              dynamo=False, opset_version=OPSET,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
        except Exception as exc:  # the exporter raises many types; each is reported the same way
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise BusbenchError(f"model {name!r} cannot be exported to ONNX (opset {OPSET}): {reason}") from exc
    return buffer.getvalue()


@torch.no_grad()
def probability_difference(model: nn.Module, exported: nn.Module, channels: int, size: int, batch: int = 3) -> float:
    """Max |sigmoid difference| between two models on random images (a batch size other than the export's)."""
    images = torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(0))
    return float((torch.sigmoid(model.eval()(images)) - torch.sigmoid(exported(images))).abs().max())


def export_checked(model: nn.Module, channels: int, size: int, name: str) -> tuple[bytes, float]:
    """The ONNX file of ``model`` and its max probability difference, refused above ``PARITY_TOLERANCE``."""
    data = onnx_bytes(model, channels, size, name)
    difference = probability_difference(model, OnnxRuntimeModel(data), channels, size)
    if not difference <= PARITY_TOLERANCE:
        raise BusbenchError(f"model {name!r}: its ONNX export differs from PyTorch by {difference:.2e} in probability "
                            f"(more than {PARITY_TOLERANCE:.0e}); use --engine pytorch for it")
    return data, difference


def export_run(run_dir: Path, out: Path) -> Path:
    """Every fold model of a run folder as ``fold-<k>.onnx`` plus ``busbench_onnx.json`` in ``out``."""
    import_onnxruntime()
    trained = load_run(run_dir, torch.device("cpu"), allow_partial=None)  # a partial export is never offered
    cfg = trained.config
    folds = [fold.path.name for fold in CellFolder(run_dir).folds() if fold.done]  # load_run's models
    out.mkdir(parents=True, exist_ok=True)
    parity = {}
    for fold, model in zip(folds, trained.models):
        data, parity[f"{fold}{ONNX_SUFFIX}"] = export_checked(model, cfg.input.channels, cfg.input.size,
                                                              cfg.model.name)
        write_bytes(data, out / f"{fold}{ONNX_SUFFIX}")
    import onnx

    description = {
        "format": FORMAT, "opset": OPSET, "models": list(parity),
        "input": {"name": INPUT_NAME, "shape": ["batch", cfg.input.channels, cfg.input.size, cfg.input.size],
                  "dtype": "float32", "size": cfg.input.size, "channels": cfg.input.channels,
                  "colour": "grey" if cfg.input.channels == 1 else "RGB", "scaling": "pixel value / 255",
                  "white_level": trained.white_level, "white_level_means": WHITE_LEVEL,
                  "resize": cfg.input.resize, "resize_means": RESIZE[cfg.input.resize]},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", 1, cfg.input.size, cfg.input.size],
                   "probability": "sigmoid(logits)"},
        "tta": list(cfg.evaluation.tta), "ensemble": ENSEMBLE, "threshold": cfg.evaluation.threshold,
        "threshold_means": "lesion where probability >= threshold, after mapping back to the original size",
        "postprocessing": asdict(trained.postprocessing), "postprocessing_means": trained.postprocessing.describe(),
        "model": {"name": cfg.model.name, "kwargs": cfg.model.kwargs, "key": cfg.model.key()},
        "source_run": str(Path(run_dir).resolve()), "max_probability_difference": parity,
        "exported_with": {"torch": torch.__version__, "onnx": onnx.__version__},
    }
    write_json(description, out / ONNX_JSON, sort_keys=False)
    return out / ONNX_JSON


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
                         EvalConfig(threshold=spec["threshold"], tta=spec["tta"]), amp="off")
    models: list[nn.Module] = [OnnxRuntimeModel(export_dir / name, device) for name in spec["models"]]
    return TrainedRun(export_dir, config, models, PostProcessing(**spec["postprocessing"]),
                      white_level=source.get("white_level"))
