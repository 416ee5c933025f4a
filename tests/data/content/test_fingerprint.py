"""Content fingerprints: the exact hashes ignore the encoding, the thumbnail and lesion box survive
resampling, checked against values computed here by other means."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from busbench.data.content.fingerprint import (
    THUMBNAIL_SIDE,
    box_values,
    image_thumbnail,
    lesion_box,
    mask_sha256,
    thumbnail_values,
)
from busbench.data.io import read_image, read_mask


def _speckle(seed: int, shape: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = cv2.GaussianBlur(rng.uniform(0, 255, shape).astype(np.float32), (0, 0), 6)
    return cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def test_the_thumbnail_is_16x16_block_means_on_16_levels() -> None:
    grey = np.zeros((64, 64), dtype=np.uint8)
    grey[:, 32:] = 200  # left half black, right half bright: block means 0 and 200, stretched to 0 and 1
    values = thumbnail_values(image_thumbnail(grey)).reshape(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    assert values.shape == (16, 16)
    np.testing.assert_array_equal(values[:, :8], 0.0)
    np.testing.assert_array_equal(values[:, 8:], 1.0)
    assert len(image_thumbnail(grey)) == 172  # 128 bytes in base64


def test_a_flat_image_has_a_flat_thumbnail() -> None:
    assert not thumbnail_values(image_thumbnail(np.full((40, 50), 77, dtype=np.uint8))).any()


def test_the_mask_hash_is_the_pixels_not_the_file(tmp_path: Path) -> None:
    lesion = np.zeros((40, 60), dtype=bool)
    lesion[10:20, 5:30] = True
    cv2.imwrite(str(tmp_path / "a.png"), lesion.astype(np.uint8) * 255, [cv2.IMWRITE_PNG_COMPRESSION, 0])
    cv2.imwrite(str(tmp_path / "b.png"), lesion.astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()
    assert mask_sha256(read_mask(tmp_path / "a.png").lesion) == mask_sha256(read_mask(tmp_path / "b.png").lesion)
    expected = hashlib.sha256(repr((40, 60)).encode() + lesion.astype(np.uint8).tobytes()).hexdigest()
    assert mask_sha256(lesion) == expected
    moved = np.roll(lesion, 1, axis=1)
    assert mask_sha256(moved) != expected


def test_the_lesion_box_is_its_bounding_box_and_area_as_fractions() -> None:
    lesion = np.zeros((50, 100), dtype=bool)
    lesion[10:20, 30:70] = True  # rows 10..19, columns 30..69
    values = box_values(lesion_box(lesion))
    assert values is not None
    np.testing.assert_allclose(values, [0.30, 0.20, 0.70, 0.40, 400 / 5000], atol=1e-4)
    assert lesion_box(np.zeros((5, 5), dtype=bool)) == "" and box_values("") is None


@pytest.mark.parametrize("transform", ["up", "down", "jpeg"])
def test_the_thumbnail_survives_resampling_and_jpeg(tmp_path: Path, transform: str) -> None:
    grey = _speckle(1)
    if transform == "up":
        copy = cv2.resize(grey, (295, 221), interpolation=cv2.INTER_CUBIC)
    elif transform == "down":
        copy = cv2.resize(grey, (64, 48), interpolation=cv2.INTER_AREA)
    else:
        cv2.imwrite(str(tmp_path / "c.jpg"), grey, [cv2.IMWRITE_JPEG_QUALITY, 60])
        copy = read_image(tmp_path / "c.jpg")
    a, b = thumbnail_values(image_thumbnail(grey)), thumbnail_values(image_thumbnail(copy))
    assert np.corrcoef(a, b)[0, 1] > 0.98
    other = thumbnail_values(image_thumbnail(_speckle(2)))
    assert np.corrcoef(a, other)[0, 1] < 0.9
