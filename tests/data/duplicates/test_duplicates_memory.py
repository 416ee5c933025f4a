"""The duplicate search keeps fixed-size values per image, never the images: its peak memory grows
by far less than one image per image (a 512-px grey image is 210 kB), and its candidate searches
match the all-pairs definitions they replace."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from busbench.data.duplicates.candidates import hash_neighbours
from busbench.data.duplicates.links import DuplicateSettings, duplicate_links
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset

SIDE = 512


def _noise_dataset(root: Path, count: int) -> Path:
    """``count`` distinct speckle-like 512 x 410 images with a disc lesion each, prepared."""
    rng = np.random.default_rng(count)
    yy, xx = np.mgrid[:410, :SIDE]
    for folder in ("images", "masks"):
        (root / "raw" / folder).mkdir(parents=True)
    for index in range(count):
        noise = cv2.GaussianBlur(rng.normal(size=(410, SIDE)).astype(np.float32), (0, 0), 2.0)
        image = np.clip(110 + 400 * noise, 0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / "raw" / "images" / f"{index}.png")
        disc = (yy - 200) ** 2 + (xx - 100 - 3 * index) ** 2 <= 40**2
        Image.fromarray(disc.astype(np.uint8) * 255).save(root / "raw" / "masks" / f"{index}.png")
    (root / "raw" / "labels.csv").write_text("image,label\n" + "".join(f"{i}.png,benign\n" for i in range(count)))
    prepare_dataset("folder", root / "raw", root / "data", {"labels_csv": "labels.csv"})
    return root / "data"


def _peak_mb(data: Path) -> float:
    manifest = load_manifest(data)
    tracemalloc.start()
    try:
        duplicate_links(manifest, DuplicateSettings())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_peak_memory_grows_by_far_less_than_an_image_per_image(tmp_path: Path) -> None:
    small, large = _peak_mb(_noise_dataset(tmp_path / "a", 15)), _peak_mb(_noise_dataset(tmp_path / "b", 45))
    per_image_kb = (large - small) * 1024 / 30
    assert per_image_kb < 100, f"{per_image_kb:.0f} kB per image"  # measured 56; holding the images: 232


@pytest.mark.parametrize("split_at", [None, 37])
def test_blockwise_hash_neighbours_match_the_all_pairs_definition(split_at: int | None) -> None:
    rng = np.random.default_rng(5)
    hashes = [f"{int(v):016x}" for v in rng.integers(0, 2**63, 90, dtype=np.int64)]
    values = np.array([int(h, 16) for h in hashes], dtype=np.uint64)
    distance = np.array([[bin(int(a, 16) ^ int(b, 16)).count("1") for b in hashes] for a in hashes])  # plain ints
    limit, per_image = 30, 3
    expected = set()
    for i in range(90):
        partners = [j for j in range(90) if j != i and distance[i, j] <= limit
                    and (split_at is None or min(i, j) < split_at <= max(i, j))]
        for j in sorted(partners, key=lambda j: (distance[i, j], j))[:per_image]:
            expected.add((min(i, j), max(i, j)))
    assert len(expected) > 50
    assert hash_neighbours(values, values, limit, per_image, split_at) == expected
