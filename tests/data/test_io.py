"""Decoding rules for the PNG modes public BUS datasets use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from busbench.data.io import UnreadableImageError, image_array, intensity_scale, read_image, read_mask
from busbench.errors import BusbenchError


def _blob() -> np.ndarray:
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:12, 8:20] = True
    return mask


def _save(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path)
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda m: (m.astype(np.uint8) * 255, "1"), id="1-bit"),
        pytest.param(lambda m: (m.astype(np.uint8) * 255, None), id="grey-0-255"),
        pytest.param(lambda m: (m.astype(np.uint8), None), id="grey-0-1"),
        pytest.param(lambda m: (np.dstack([m.astype(np.uint8) * 255] * 3), None), id="rgb"),
        pytest.param(lambda m: (np.dstack([m.astype(np.uint8) * 255] * 3 + [np.full(m.shape, 255, np.uint8)]), None),
                     id="rgba-opaque"),
        pytest.param(lambda m: (np.dstack([np.zeros(m.shape, np.uint8)] * 3 + [m.astype(np.uint8) * 255]), None),
                     id="rgba-alpha-only"),
        pytest.param(lambda m: (np.dstack([m.astype(np.uint8) * 255, np.zeros(m.shape, np.uint8),
                                           np.zeros(m.shape, np.uint8)]), None), id="red-lesion"),
        pytest.param(lambda m: (m.astype(np.uint8) * 255, "P"), id="palette"),
    ],
)
def test_binary_masks_decode_to_the_lesion_in_every_mode(tmp_path: Path, make) -> None:
    mask = _blob()
    array, mode = make(mask)
    decoded = read_mask(_save(tmp_path / "m.png", array, mode))
    assert decoded.threshold is None
    np.testing.assert_array_equal(decoded.lesion, mask)


def test_non_binary_mask_is_thresholded_at_half_range(tmp_path: Path) -> None:
    values = np.array([[0, 60, 127, 128, 200, 255]], dtype=np.uint8)
    decoded = read_mask(_save(tmp_path / "m.png", values))
    assert decoded.threshold == 128
    assert decoded.lesion.tolist() == [[False, False, False, True, True, True]]


def test_empty_mask_is_all_background(tmp_path: Path) -> None:
    decoded = read_mask(_save(tmp_path / "m.png", np.zeros((8, 8, 3), np.uint8)))
    assert not decoded.lesion.any() and decoded.threshold is None


def test_images_decode_to_grey_or_rgb(tmp_path: Path) -> None:
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = 200
    path = _save(tmp_path / "i.png", rgb)
    grey = read_image(path)
    assert grey.shape == (6, 7) and grey.dtype == np.uint8
    assert int(grey[0, 0]) == round(200 * 299 / 1000)  # ITU-R 601 luma of pure red
    assert read_image(path, channels=3).shape == (6, 7, 3)


def test_sixteen_bit_image_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    values = np.array([[0, 65535]], dtype=np.uint16)
    path = tmp_path / "i16.png"
    Image.fromarray(values).save(path)
    assert read_image(path).tolist() == [[0, 255]]


@pytest.mark.parametrize("content", [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"])
def test_unreadable_files_raise_an_error_naming_them(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(UnreadableImageError, match="broken.png"):
        read_mask(path)
    with pytest.raises(UnreadableImageError, match="broken.png"):
        read_image(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnreadableImageError, match="nothere.png: file not found"):
        read_image(tmp_path / "nothere.png")


@pytest.mark.parametrize("pixels", [
    pytest.param(np.arange(600, dtype=np.uint8).reshape(20, 30), id="grey"),
    pytest.param(np.dstack([np.arange(600).reshape(20, 30) % 256, np.full((20, 30), 40),
                            np.arange(600).reshape(20, 30)[::-1] % 256]).astype(np.uint8), id="rgb"),
    pytest.param(np.dstack([np.arange(600).reshape(20, 30) % 256] * 3 + [np.full((20, 30), 9)]).astype(np.uint8),
                 id="rgba"),
    pytest.param((np.arange(600, dtype=np.uint16).reshape(20, 30) * 6), id="12-bit-in-uint16"),
    pytest.param(np.arange(600, dtype=np.uint16).reshape(20, 30) % 256, id="8-bit-in-uint16"),
])
@pytest.mark.parametrize("channels", [1, 3])
def test_an_array_decodes_as_a_png_of_it_does(tmp_path: Path, pixels: np.ndarray, channels: int) -> None:
    """What `busbench predict` reads from a one-image input, the array API gets from the array."""
    path = _save(tmp_path / "image.png", pixels)
    from_file = read_image(path, channels, intensity_scale([path]).white)
    from_array = image_array(pixels, channels)
    assert from_array.dtype == np.uint8 and from_array.shape == pixels.shape[:2] + ((3,) if channels == 3 else ())
    np.testing.assert_array_equal(from_array, from_file)


@pytest.mark.parametrize("pixels", [
    pytest.param(np.full((20, 30), 0.5), id="float-0-1"),
    pytest.param(np.full((20, 30), 128.0, np.float32), id="float-0-255"),
    pytest.param(np.zeros((3, 20, 30), np.uint8), id="channels-first"),
    pytest.param(np.zeros((20, 30, 2), np.uint8), id="two-channels"),
    pytest.param(np.zeros((20, 30, 3), np.uint16), id="uint16-rgb"),
    pytest.param(np.zeros((20, 30), bool), id="boolean"),
    pytest.param(np.zeros((0, 30), np.uint8), id="empty"),
])
def test_an_array_of_another_kind_is_refused_saying_what_to_pass(pixels: np.ndarray) -> None:
    with pytest.raises(BusbenchError) as error:
        image_array(pixels)
    message = str(error.value)
    assert f"a {pixels.dtype} array of shape {pixels.shape}" in message and "\n" not in message
    assert "pass uint8 values 0-255" in message and "(image * 255).round().astype(numpy.uint8)" in message


def test_a_dark_12_bit_array_is_scaled_as_the_run_s_training_images(caplog: pytest.LogCaptureFixture) -> None:
    """A run trained on 12-bit data (white level 4095) reads a dark 12-bit scan as 12-bit, as `predict`
    reads such a file: its own range (up to 1500, which fits 11 bits) would brighten it twofold."""
    pixels = np.linspace(0, 1500, 600).round().astype(np.uint16).reshape(20, 30)
    expected = np.rint(pixels.astype(np.float64) * 255 / 4095).astype(np.uint8)
    np.testing.assert_array_equal(image_array(pixels, 1, trained_white=4095), expected)
    assert "fit 11 bits, the training images were 12-bit" in caplog.text
    assert image_array(pixels).max() > 2 * expected.max() - 2  # without the run's level: its own 11-bit range
