"""Decoding of BUS images and masks, whatever PNG mode their authors saved them in.

Public datasets mix 1-bit, grey, RGB, RGBA and palette PNGs (BUSI alone has all of the first
four among its masks), and BUS-UCLM encodes the lesion class as a mask colour. Every reader in
busbench goes through these functions so that one set of rules applies everywhere (an image
given as an array, ``image_array``, is decoded as a file of it would be):

* images are returned as uint8 grey (ITU-R 601 luma) or RGB; alpha is dropped; 16-bit images
  are scaled to 8 bits with one scale per dataset (``intensity_scale``): a 16-bit PNG often holds
  12-bit data (0..4095), which divided by 257 would come out near-black, and a scale chosen per
  image would scale one dataset two ways; ``predict`` scales new images from the training
  dataset's white level, which the run records (``scaling_like_training``);
* a mask pixel is lesion when any colour channel is lit. A mask holding only two values
  (0 and one other) is taken as binary whatever that value is (1, 255, ...); a mask with more
  values is thresholded at half of its type's range (128 for 8-bit) and reported as fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from busbench.errors import BusbenchError
from busbench.log import logger

MASK_THRESHOLD_FRACTION = 0.5
HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")


class UnreadableImageError(BusbenchError):
    """A file that Pillow cannot decode (missing, truncated, not an image)."""


@dataclass(frozen=True)
class DecodedMask:
    """A boolean lesion mask and, when it was not cleanly binary, the threshold that made it so."""

    lesion: np.ndarray
    threshold: int | None = None


def open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except FileNotFoundError as exc:
        raise UnreadableImageError(f"{path}: file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(
            f"{path}: not a readable image ({exc.__class__.__name__}: {exc}); "
            "re-export or remove the file"
        ) from exc


@dataclass(frozen=True)
class IntensityScale:
    """How a dataset's high-bit-depth images map to 8 bits: ``white`` (2^bits - 1, bits from the
    largest value over the dataset, at least 8) becomes 255. 8-bit images are never rescaled."""

    white: int = 255
    maximum: int | None = None  # the largest high-bit-depth value over the dataset; None: no such image

    def describe(self) -> str:
        if self.maximum is None:
            return "8-bit images, not rescaled"
        return (f"high-bit-depth images with values up to {self.maximum}: read as {self.white.bit_length()}-bit "
                f"(0..{self.white} -> 0..255)")


def high_bit_maximum(path: Path) -> int | None:
    """The largest value of a 16-bit (or 32-bit) image; None for an 8-bit one (only its header is read)."""
    try:
        with Image.open(path) as header:
            if header.mode not in HIGH_BIT_MODES:
                return None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{path}: not a readable image ({exc})") from exc
    pixels = np.asarray(open_image(Path(path)))
    return int(pixels.max()) if pixels.size else None


def intensity_scale(paths: list[Path]) -> IntensityScale:
    """One scale for every image of a dataset (or of one ``predict`` input), from their bit depth and
    the largest value among them. Unreadable files are skipped here (the readers report them)."""
    maxima = []
    for path in paths:
        try:
            maximum = high_bit_maximum(path)
        except UnreadableImageError:
            continue
        if maximum is not None:
            maxima.append(maximum)
    return scale_of(maxima)


def scale_of(maxima: list[int]) -> IntensityScale:
    """The scale of high-bit-depth images whose largest values are ``maxima`` (none: 8-bit images)."""
    if not maxima:
        return IntensityScale()
    top = max(maxima)
    return IntensityScale((1 << max(8, top.bit_length())) - 1, top)


@dataclass(frozen=True)
class InputScaling:
    """How ``predict`` maps its inputs to 8 bits, and what differs from the training images, if anything."""

    white: int
    note: str
    warning: str = ""


def scaling_like_training(inputs: IntensityScale, trained_white: int | None) -> InputScaling:
    """The scale for images to predict (``inputs``: their own, from ``intensity_scale``), given the
    white level the run's training images were scaled from (``None``: not recorded).

    High-bit-depth inputs take the training images' white level, so a dark 12-bit scan is read as
    12-bit, not stretched as if it were 11-bit; only inputs brighter than that white level, or a run
    trained on 8-bit images, are read by their own range. A bit depth other than the training
    images' is a warning either way."""
    if inputs.maximum is None:
        differs = (f"the training images were {trained_white.bit_length()}-bit (0..{trained_white} -> 0..255), "
                   "these are 8-bit and are used as they are") if trained_white and trained_white > 255 else ""
        return InputScaling(inputs.white, inputs.describe(), differs)
    if trained_white is None:
        return InputScaling(inputs.white, inputs.describe(), (
            f"the run does not record how its training images were scaled (made by an older busbench): "
            f"{inputs.describe()}; run `busbench run` on its config once more to record it (finished folds are kept), "
            "then export it again for onnxruntime"))
    own_bits, trained_bits = inputs.white.bit_length(), trained_white.bit_length()
    if trained_white <= 255 or inputs.maximum > trained_white:
        trained = "8-bit" if trained_white <= 255 else f"{trained_bits}-bit, up to {trained_white}"
        return InputScaling(inputs.white, inputs.describe(), (
            f"the training images were {trained}; these are not scaled as they were: {inputs.describe()}"))
    note = (f"high-bit-depth images with values up to {inputs.maximum}: scaled as the training images, "
            f"{trained_bits}-bit (0..{trained_white} -> 0..255)")
    differs = "" if own_bits == trained_bits else (
        f"values up to {inputs.maximum} fit {own_bits} bits, the training images were {trained_bits}-bit: scaled as "
        f"those (0..{trained_white} -> 0..255); were these {own_bits}-bit images, they come out darker than the "
        "training images")
    return InputScaling(trained_white, note, differs)


def _to_uint8(arr: np.ndarray, white: int | None) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if white is None:  # a lone image (a prediction map): its own range
        white = 65535 if arr.size and float(arr.max()) > 255 else 255
    return np.clip(np.rint(arr.astype(np.float64) * (255.0 / white)), 0, 255).astype(np.uint8)


def read_image(path: Path, channels: int = 1, white: int | None = None) -> np.ndarray:
    """Decode an image as uint8, (H, W) for ``channels=1`` or (H, W, 3) for ``channels=3``;
    a high-bit-depth image maps ``white`` (its dataset's ``IntensityScale``) to 255."""
    return decode_image(open_image(Path(path)), channels, white)


def image_array(pixels: np.ndarray, channels: int = 1, trained_white: int | None = None) -> np.ndarray:
    """An image given as an array, decoded as ``read_image`` decodes a PNG of it: uint8 grey (H, W),
    RGB (H, W, 3) or RGBA (H, W, 4), or uint16 grey (H, W). A uint16 image is scaled as ``predict``
    scales a 16-bit file: with ``trained_white``, the white level a run's training images were scaled
    from (``scaling_like_training``, which logs where the bit depths differ), else by the bit depth of
    its largest value. Anything else (floats, other shapes) is refused."""
    grey = pixels.ndim == 2 and pixels.dtype in (np.uint8, np.uint16)
    colour = pixels.ndim == 3 and pixels.shape[2] in (3, 4) and pixels.dtype == np.uint8
    if not (grey or colour) or not pixels.size:
        raise BusbenchError(f"image: a {pixels.dtype} array of shape {pixels.shape}; pass uint8 values 0-255 as "
                            "(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, or uint16 (H, W) grey (a float image in "
                            "[0, 1]: (image * 255).round().astype(numpy.uint8))")
    white = None
    if pixels.dtype == np.uint16:
        own = scale_of([int(pixels.max())])
        scaling = scaling_like_training(own, trained_white) if trained_white is not None else None
        if scaling is not None and scaling.warning:
            logger.warning(f"image: {scaling.warning}")
        white = scaling.white if scaling is not None else own.white
    return decode_image(Image.fromarray(np.ascontiguousarray(pixels)), channels, white)


def decode_image(img: Image.Image, channels: int, white: int | None) -> np.ndarray:
    """``read_image`` of an opened image: grey or RGB uint8, alpha dropped, palettes expanded; ``channels`` 1 or 3,
    as ``input.channels`` and ``build_cache`` check it."""
    if img.mode in HIGH_BIT_MODES:
        grey = _to_uint8(np.asarray(img), white)
        return grey if channels == 1 else np.repeat(grey[..., None], 3, axis=2)
    rgb = img.convert("RGB")  # drops alpha, expands palette and 1-bit
    if channels == 3:
        return np.asarray(rgb, dtype=np.uint8)
    return np.asarray(rgb.convert("L"), dtype=np.uint8)


def read_mask(path: Path) -> DecodedMask:
    """Decode a lesion mask to a boolean array, applying the module's binarisation rules."""
    img = open_image(Path(path))
    if img.mode == "1":
        return DecodedMask(np.asarray(img, dtype=bool))
    if img.mode == "P":
        img = img.convert("RGBA")
    arr = np.asarray(img)
    if img.mode in ("RGBA", "LA"):
        colour, alpha = arr[..., :-1], arr[..., -1]
        # An alpha-only mask (colour constant, alpha varying) stores the lesion in alpha.
        arr = alpha if colour.min() == colour.max() and alpha.min() != alpha.max() else colour
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    values = np.unique(arr)
    if values.size <= 2 and values[0] == 0:
        return DecodedMask(arr > 0)
    if values.size == 1:  # constant non-zero: every pixel lesion
        return DecodedMask(np.ones(arr.shape, dtype=bool))
    full_range = 255 if arr.dtype == np.uint8 else (65535 if arr.max() > 255 else 255)
    threshold = int(round(full_range * MASK_THRESHOLD_FRACTION))
    return DecodedMask(arr >= threshold, threshold=threshold)
