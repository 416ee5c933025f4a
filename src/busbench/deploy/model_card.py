"""``MODEL_CARD.md`` beside an ONNX export: what the model is, what it was trained and tested on, how
to feed it and read it, and what int8 costs, for the engineer who deploys it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from busbench.deploy.int8_gate import Int8Check
from busbench.layout.atomic import write_text

MODEL_CARD = "MODEL_CARD.md"


def _int8_lines(check: Int8Check | None) -> list[str]:
    if check is None:
        return ["Not exported (`busbench export onnx RUN --out DIR --quantize int8` adds it, checked on the test set)."]
    return [f"Dynamic int8 quantisation (ONNX Runtime `quantize_dynamic`, int8 weights), checked through the "
            f"reference pipeline on the run's {check.images} held-out test images:", "",
            "| | mean Dice |", "|---|---|",
            f"| fp32 | {check.fp32_dice:.4f} |", f"| int8 | {check.int8_dice:.4f} |",
            f"| change | {check.change:+.4f} |", "",
            f"Agreement of the int8 masks with the fp32 masks (Dice per image): mean {check.agreement_mean:.4f}, "
            f"minimum {check.agreement_min:.4f}. Refused above a drop of {check.tolerance:g} (`--int8-tolerance`)."]


def model_card(spec: dict[str, Any], files: list[str], check: Int8Check | None) -> str:
    """The card's Markdown."""
    source, model, post = spec["input"], spec["model"], spec["postprocessing"]
    kwargs = ", ".join(f"{k}={v}" for k, v in model["kwargs"].items()) or "defaults"
    lines = [
        f"# Model card: {model['name']} ({model['key']})", "",
        "Breast-ultrasound lesion segmentation exported by busbench "
        f"{spec['busbench_version']} (ONNX opset {spec['opset']}). Research use: not a medical device.", "",
        "## Files", "", *[f"- `{name}`" for name in files],
        "- `busbench_onnx.json`: every setting below (also inside each `.onnx`, metadata key `busbench`)",
        "- `busbench_postprocess.py`: the reference pre- and post-processing (NumPy and OpenCV only)", "",
        "## Model", "", f"- architecture: {model['name']} ({kwargs})",
        f"- trained in: `{spec['source_run']}`",
        f"- held-out test set sha256: `{spec['test_set_sha256']}`; its scores are in the run's ensemble_metrics.csv",
        f"- max probability difference ONNX Runtime vs PyTorch: {max(spec['max_probability_difference'].values()):.1e}",
        "", "## Input", "",
        f"- `{source['name']}`: float32 {' x '.join(map(str, source['shape']))}, {source['colour']}, "
        f"{source['normalisation']}",
        f"- spatial axes: {source['spatial_axes']}",
        f"- placement ({source['resize']}): {source['resize_means']}",
        f"- bit depth: {source['white_level_means']}; white level {source['white_level']}", "",
        "## Output and post-processing", "",
        f"- fold files: output `{spec['output']['name']}`, probability = sigmoid(logits); "
        "`ensemble.onnx` (where exported): `probability`, the ensemble with the TTA views inside",
        f"- ensemble: {spec['ensemble']}; TTA views: {', '.join(spec['tta']) or 'none'}",
        f"- back to the image: {spec['resize_back']}",
        f"- threshold: {spec['threshold']} ({spec['threshold_means']})",
        f"- post-processing chosen on out-of-fold development predictions: {spec['postprocessing_chosen']} "
        f"(`{json.dumps(post)}`)", f"- steps: {spec['postprocessing_means']}", "",
        "## Use", "", "```python", "import onnxruntime", "import busbench_postprocess as bp", "",
        'session = onnxruntime.InferenceSession("ensemble.onnx")',
        'image = bp.read_image("scan.png", bp.metadata(session)["input"]["channels"])',
        "probability, mask = bp.predict([session], image)  # both at the image's size", "```", "",
        "With the fold files instead: `bp.predict([fold sessions], image)` averages them and the TTA views.", "",
        "## int8", "", *_int8_lines(check), "",
        "## Limitations", "",
        "Scores hold for images like the training data (same scanners, same preparation). Images are read as "
        "training read them; 16-bit images must be scaled as the bit-depth line says.",
    ]
    return "\n".join(lines) + "\n"


def write_model_card(out: Path, spec: dict[str, Any], files: list[str], check: Int8Check | None) -> Path:
    write_text(model_card(spec, files, check), out / MODEL_CARD)
    return out / MODEL_CARD
