"""`export onnx --quantize int8`: ONNX Runtime's dynamic int8 quantisation, admitted only where it
keeps the run's own test Dice.

Weights become int8 (``quantize_dynamic``, activations quantised on the fly), about a quarter of
the size. Both the fp32 and the int8 files then predict the run's held-out test images through the
shipped reference pipeline (``busbench_postprocess``: letterbox, TTA, resize back, threshold,
post-processing), and each mask is scored against the ground truth. A mean Dice that falls by more
than the tolerance (``--int8-tolerance``) is refused, and nothing is written.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from busbench.config import validate_config
from busbench.data.access import held_out_test_ids
from busbench.data.manifest import case_row
from busbench.deploy import busbench_postprocess as reference
from busbench.deploy.onnx_runtime import import_onnxruntime
from busbench.errors import BusbenchError
from busbench.layout.folders import CellFolder
from busbench.metrics.per_image import dice_score
from busbench.pipeline.prepared import prepare_data
from busbench.progress import progress

QUANTIZATIONS = ("int8",)
INT8_TOLERANCE = 0.01  # the largest mean test Dice drop (absolute) an int8 export may cost


def quantize_int8(data: bytes) -> bytes:
    """The file with int8 weights (ONNX Runtime's ``quantize_dynamic``, QInt8, per tensor), after ONNX
    Runtime's pre-processing (shape inference, graph optimisation), which makes the weights that the
    ensemble's repeated fold models share initializers again, as the quantiser needs."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as folder:
        source, prepared, target = (Path(folder) / name for name in ("fp32.onnx", "prepared.onnx", "int8.onnx"))
        source.write_bytes(data)
        quant_pre_process(source, prepared, skip_symbolic_shape=True)
        quantize_dynamic(prepared, target, weight_type=QuantType.QInt8)
        return target.read_bytes()


@dataclass(frozen=True)
class Int8Check:
    """The test-set comparison of the fp32 and int8 files."""

    images: int
    fp32_dice: float  # mean Dice against the ground truth
    int8_dice: float
    agreement_mean: float  # Dice between the fp32 and int8 masks of one image, mean and minimum
    agreement_min: float
    tolerance: float

    @property
    def change(self) -> float:
        return self.int8_dice - self.fp32_dice

    def as_dict(self) -> dict[str, float | int]:
        return {"test_images": self.images, "fp32_mean_dice": self.fp32_dice, "int8_mean_dice": self.int8_dice,
                "dice_change": self.change, "mask_agreement_dice_mean": self.agreement_mean,
                "mask_agreement_dice_min": self.agreement_min, "tolerance": self.tolerance}


def _sessions(files: list[bytes]) -> list[Any]:
    ort = import_onnxruntime()
    return [ort.InferenceSession(data, providers=["CPUExecutionProvider"]) for data in files]


def held_out_cases(run_dir: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The run's held-out test images (uint8, as training read them) and their ground truth."""
    path = CellFolder(run_dir).config_yaml
    cfg = validate_config(yaml.safe_load(path.read_text()), str(path))
    data = prepare_data(cfg)
    rows = data.manifest.frame.set_index("case_id", drop=False)
    cases = [case_row(rows, case_id) for case_id in held_out_test_ids(data.split, data.manifest)]
    return [(data.manifest.image(row, cfg.input.channels), data.manifest.lesion(row)) for row in cases]


def check_int8(fp32: list[bytes], int8: list[bytes], spec: dict[str, Any],
               cases: list[tuple[np.ndarray, np.ndarray]], tolerance: float) -> Int8Check:
    """Score both sets of files on ``cases`` through the reference pipeline; refuse a drop above ``tolerance``."""
    full, quantized = _sessions(fp32), _sessions(int8)
    scores: list[tuple[float, float, float]] = []
    for image, truth in progress(cases, "int8 check: predicting the test images in fp32 and int8",
                                 total=len(cases)):
        _, mask = reference.predict(full, image, spec)
        _, small = reference.predict(quantized, image, spec)
        scores.append((dice_score(mask, truth), dice_score(small, truth), dice_score(small, mask)))
    if not scores:
        raise BusbenchError("--quantize int8: the run has no test images to check the int8 model on; "
                            "export without --quantize")
    table = np.array(scores)
    check = Int8Check(len(scores), float(table[:, 0].mean()), float(table[:, 1].mean()), float(table[:, 2].mean()),
                      float(table[:, 2].min()), tolerance)
    if -check.change > tolerance:
        raise BusbenchError(f"--quantize int8: the mean test Dice falls by {-check.change:.4f} (fp32 "
                            f"{check.fp32_dice:.4f}, int8 {check.int8_dice:.4f} on {check.images} test images), more "
                            f"than --int8-tolerance {tolerance:g}; export in fp32 (without --quantize), or raise "
                            "--int8-tolerance if that loss is acceptable. Nothing was written")
    return check
