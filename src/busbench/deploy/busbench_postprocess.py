"""busbench's reference pre- and post-processing for its ONNX exports, in NumPy and OpenCV only.

`busbench export onnx` copies this file beside the models: it reproduces `busbench predict`'s masks
without busbench or PyTorch. Every setting (input size, resize mode, TTA views, threshold,
post-processing) is read from the ``busbench`` metadata entry inside the ``.onnx`` file.

    import cv2, onnxruntime
    import busbench_postprocess as bp
    session = onnxruntime.InferenceSession("ensemble.onnx")
    image = bp.read_image("scan.png", bp.metadata(session)["input"]["channels"])
    probability, mask = bp.predict([session], image)

or from a shell: ``python busbench_postprocess.py ensemble.onnx scan.png mask.png``.

The steps, exactly as busbench does them:

1. read the image as uint8 grey (ITU-R 601 luma of RGB) or RGB, as training read it;
2. place it in the ``size`` x ``size`` input: ``letterbox`` scales the longer side to ``size``
   (rounded) and pads the other with zeros, the odd pixel of padding going to the bottom/right;
   ``resize`` stretches; OpenCV INTER_AREA when shrinking, INTER_LINEAR when enlarging;
3. float32 pixels / 255, shape (1, channels, size, size);
4. probability: a file with ``tta_in_graph`` gives it; fold files give logits, and the mean of
   sigmoid(logits) is taken over every file and every TTA view (each flipped back);
5. the padding cropped away and the probability resized to the original size (INTER_AREA when
   shrinking, INTER_LINEAR when enlarging), then lesion where probability >= threshold;
6. post-processing, in this order: fill holes (background 4-connectivity), remove components
   (8-connectivity) smaller than round(min_area_fraction x image area) px, keep the largest
   component (8-connectivity), and a median filter of size ``boundary_median`` (edge pixels
   replicated) applied only on the band within boundary_median // 2 px (4-connectivity steps)
   of the lesion boundary.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import cv2
import numpy as np

METADATA_KEY = "busbench"
_FLIP_AXES = {"hflip": (-1,), "vflip": (-2,), "rot180": (-2, -1)}
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=np.uint8)


def metadata(session: Any) -> dict[str, Any]:
    """The settings busbench wrote into the model file."""
    return dict(json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY]))


def read_image(path: str, channels: int) -> np.ndarray:
    """An 8-bit image file as uint8 (H, W) grey or (H, W, 3) RGB (16-bit files: scale them to 0-255 first)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb if channels == 3 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    shrinking = height * width < array.shape[0] * array.shape[1]
    return cv2.resize(array, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def placement(height: int, width: int, size: int, mode: str) -> tuple[int, int, int, int]:
    """(top, left, inner height, inner width) of the image inside the square input."""
    if mode == "resize":
        return 0, 0, size, size
    scale = size / max(height, width)
    inner_h, inner_w = max(1, round(height * scale)), max(1, round(width * scale))
    return (size - inner_h) // 2, (size - inner_w) // 2, inner_h, inner_w


def network_input(image: np.ndarray, size: int, mode: str) -> np.ndarray:
    """uint8 (H, W[, C]) -> float32 (1, C, size, size) in [0, 1], placed as training placed it."""
    top, left, inner_h, inner_w = placement(image.shape[0], image.shape[1], size, mode)
    square = np.zeros((size, size) + image.shape[2:], dtype=np.uint8)
    square[top:top + inner_h, left:left + inner_w] = _resize(image, inner_h, inner_w)
    pixels = square.astype(np.float32) / np.float32(255.0)
    return pixels[None, None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)[None]


def probability_map(sessions: list[Any], pixels: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Mean lesion probability (size, size) of the network input over the files and TTA views."""
    input_name, output_name = spec["input"]["name"], spec["output"]["name"]
    if spec["tta_in_graph"]:
        total = sum(session.run([output_name], {input_name: pixels})[0][0, 0] for session in sessions)
        return np.asarray(total / np.float32(len(sessions)), dtype=np.float32)
    views: list[str | None] = [None, *dict.fromkeys(spec["tta"])]
    total = np.zeros(pixels.shape[2:], dtype=np.float32)
    for session in sessions:
        for view in views:
            seen = pixels if view is None else np.ascontiguousarray(np.flip(pixels, _FLIP_AXES[view]))
            logits = session.run([output_name], {input_name: seen})[0].astype(np.float32)
            probability = np.float32(1.0) / (np.float32(1.0) + np.exp(-logits))
            total += (probability if view is None else np.flip(probability, _FLIP_AXES[view]))[0, 0]
    return total / np.float32(len(sessions) * len(views))


def to_original(probability: np.ndarray, height: int, width: int, size: int, mode: str) -> np.ndarray:
    """The square's probability with the padding cropped, resized to the image's (height, width)."""
    top, left, inner_h, inner_w = placement(height, width, size, mode)
    inner = probability[top:top + inner_h, left:left + inner_w].astype(np.float32)
    return _resize(inner, height, width)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Background not 4-connected to the image border becomes lesion."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = mask
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    filled: np.ndarray = padded[1:-1, 1:-1] != 2
    return filled


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (8-connectivity) and the area of each label (label 0, the background, counted as 0)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].copy()
    areas[0] = 0
    return labels, areas


def remove_small_components(mask: np.ndarray, min_area: int) -> np.ndarray:
    labels, areas = _components(mask)
    kept: np.ndarray = (areas >= min_area)[labels]
    return kept


def keep_largest_component(mask: np.ndarray) -> np.ndarray:
    labels, areas = _components(mask)
    if len(areas) <= 2:
        return mask.copy()
    largest: np.ndarray = labels == int(np.argmax(areas))
    return largest


def median_on_boundary(mask: np.ndarray, size: int) -> np.ndarray:
    """A ``size`` x ``size`` median filter applied only within size // 2 px of the lesion boundary."""
    if size < 3 or not mask.any():
        return mask.copy()
    radius, binary = size // 2, mask.astype(np.uint8)
    grown = cv2.dilate(binary, _CROSS, iterations=radius, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    shrunk = cv2.erode(binary, _CROSS, iterations=radius, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    band = grown.astype(bool) & ~shrunk.astype(bool)
    smoothed = cv2.medianBlur(binary, size).astype(bool)
    out = mask.copy()
    out[band] = smoothed[band]
    return out


def postprocess(mask: np.ndarray, steps: dict[str, Any]) -> np.ndarray:
    """busbench's chosen post-processing steps, in busbench's order."""
    out = mask.astype(bool, copy=True)
    if steps.get("fill_holes"):
        out = fill_holes(out)
    if steps.get("min_area_fraction", 0) > 0:
        out = remove_small_components(out, max(1, int(round(steps["min_area_fraction"] * out.size))))
    if steps.get("keep_largest"):
        out = keep_largest_component(out)
    if steps.get("boundary_median"):
        out = median_on_boundary(out, int(steps["boundary_median"]))
    return out


def predict(sessions: list[Any], image: np.ndarray, spec: dict[str, Any] | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Lesion probability (float32) and post-processed mask (bool) of a uint8 image, both at its size."""
    spec = spec or metadata(sessions[0])
    size, mode = spec["input"]["size"], spec["input"]["resize"]
    probability = probability_map(sessions, network_input(image, size, mode), spec)
    original = to_original(probability, image.shape[0], image.shape[1], size, mode)
    return original, postprocess(original >= spec["threshold"], spec["postprocessing"])


def main(argv: list[str]) -> int:
    """``python busbench_postprocess.py MODEL.onnx [MODEL2.onnx ...] IMAGE MASK.png``: the mask as 0/255."""
    if len(argv) < 3:
        print(main.__doc__, file=sys.stderr)
        return 2
    import onnxruntime

    sessions = [onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]) for path in argv[:-2]]
    spec = metadata(sessions[0])
    _, mask = predict(sessions, read_image(argv[-2], spec["input"]["channels"]), spec)
    cv2.imwrite(argv[-1], mask.astype(np.uint8) * 255)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
