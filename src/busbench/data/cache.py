"""`busbench cache`: every image and mask resized once into memory-mappable arrays.

One folder per (manifest, size, resize mode, channels) holds ``images.npy`` (uint8, N x S x S or
N x S x S x 3), ``masks.npy`` (uint8 0/1, N x S x S), ``index.csv`` (case id and placement per
row) and ``meta.json``. The folder is written under a temporary name and renamed when complete,
so an interrupted build is never mistaken for a cache. Training reads batches straight from the
memory map instead of decoding PNGs every epoch. ``meta.json`` records each array file's SHA-256,
checked whenever the cache is opened for a run: an array damaged in place (zeroed, same size and
header) is rebuilt, never trained on.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from busbench.data.choices import RESIZE_MODES, ResizeMode
from busbench.data.geometry import (
    MAX_SIZE,
    MIN_SIZE,
    Placement,
    place_image,
    place_mask,
    placement_for,
)
from busbench.data.integrity import file_sha256
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError
from busbench.layout.atomic import temporary_path, write_csv, write_errors, write_json
from busbench.layout.locks import lock_file, locked
from busbench.log import duration, logger
from busbench.progress import progress
from busbench.version import __version__

CACHE_META = "meta.json"
IMAGES_NPY, MASKS_NPY = "images.npy", "masks.npy"
ARRAY_SHA256 = "array_sha256"  # meta.json: each array file's SHA-256, checked whenever the cache is opened to use
SPARE_BYTES = 64 * 2**20  # room left beside the arrays for the index, the meta file and the file system


def cache_dir_name(manifest: Manifest, size: int, mode: ResizeMode, channels: int) -> str:
    return f"{manifest.dataset}-{size}px-{mode}-c{channels}-{manifest.sha256[:12]}"


def load_pair(manifest: Manifest, row: pd.Series, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A case's image and lesion mask at the mask's (the ground truth's) size."""
    image = manifest.image(row, channels)
    lesion = manifest.lesion(row)
    if image.shape[:2] != lesion.shape:  # logged by `prepare`: the image is fitted to its mask
        image = cv2.resize(image, (lesion.shape[1], lesion.shape[0]), interpolation=cv2.INTER_AREA)
    return image, lesion


@dataclass(frozen=True)
class Cache:
    """An opened cache: memory-mapped arrays and the placement of every case."""

    path: Path
    meta: dict[str, object]

    @cached_property
    def index(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "index.csv", dtype={"case_id": str}, keep_default_na=False)

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {case_id: i for i, case_id in enumerate(self.index["case_id"])}

    @cached_property
    def images(self) -> np.ndarray:
        images: np.ndarray = np.load(self.path / IMAGES_NPY, mmap_mode="r")
        return images

    @cached_property
    def masks(self) -> np.ndarray:
        masks: np.ndarray = np.load(self.path / MASKS_NPY, mmap_mode="r")
        return masks

    def __getstate__(self) -> dict[str, object]:
        # DataLoader workers started by spawn pickle the dataset: send paths, not mapped arrays.
        return {"path": self.path, "meta": self.meta}

    def rows(self, case_ids: list[str]) -> list[int]:
        missing = [c for c in case_ids if c not in self.row_of]
        if missing:
            raise BusbenchError(
                f"{self.path}: cases {missing[:5]} are not in this cache; rebuild it with `busbench cache`"
            )
        return [self.row_of[c] for c in case_ids]

    def placement(self, case_id: str) -> Placement:
        row = self.index.iloc[self.row_of[case_id]]
        return Placement(**{k: int(row[k]) for k in Placement.__dataclass_fields__})


def _arrays_intact(cache: Cache) -> str | None:
    """Why the cache's arrays cannot be used (deleted, truncated, another shape, other bytes than those
    written: zeroed or corrupted in place, same size and header), or None."""
    cases, size = int(cache.meta["cases"]), int(cache.meta["size"])  # type: ignore[call-overload]
    image_shape = (cases, size, size) + ((3,) if cache.meta["channels"] == 3 else ())
    recorded = cache.meta.get(ARRAY_SHA256)
    for name, shape in ((IMAGES_NPY, image_shape), (MASKS_NPY, (cases, size, size))):
        try:
            array = np.load(cache.path / name, mmap_mode="r")
        except (OSError, ValueError, EOFError) as exc:  # missing, truncated (mmap longer than the file), garbage
            return f"{name}: {exc}"
        if array.shape != shape or array.dtype != np.uint8:
            return f"{name} holds {array.dtype} {array.shape}, not uint8 {shape}"
        if not isinstance(recorded, dict) or name not in recorded:
            return f"{CACHE_META} records no checksum of {name} (built by an older busbench)"
        if file_sha256(cache.path / name) != recorded[name]:
            return f"{name}: its content differs from the checksum recorded when the cache was built (overwritten " \
                   "or corrupted on disk)"
    return None


def _check_room(folder: Path, needed: int) -> None:
    """Refuse before writing: memory-mapped arrays on a full disk kill the process with SIGBUS
    ("Bus error", no message) on the first page that cannot be stored."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
    free = shutil.disk_usage(existing).free
    if free < needed + SPARE_BYTES:
        raise BusbenchError(f"{folder}: the cache needs {needed / 2**20:.0f} MB but {existing} has "
                            f"{free / 2**20:.0f} MB free; free space there, or pick a smaller input.size")


def check_cache_size(size: int) -> None:
    if size < MIN_SIZE:
        raise BusbenchError(f"cache size {size} px: must be at least {MIN_SIZE} px (input.size / --size), the smallest "
                            "input a model here takes (it halves the side four times); 256 px is usual")
    if size > MAX_SIZE:
        raise BusbenchError(f"cache size {size} px: must be {MIN_SIZE}..{MAX_SIZE} px (input.size / --size); larger "
                            "inputs exceed what any segmentation model here is trained at and run out of memory")


def open_cache(path: Path, manifest: Manifest | None = None) -> Cache:
    """Open a complete cache folder, checking it was built from ``manifest`` when given."""
    path = Path(path)
    if not (path / CACHE_META).is_file():
        raise BusbenchError(f"{path}: not a complete busbench cache; build it with `busbench cache MANIFEST`")
    meta = json.loads((path / CACHE_META).read_text())
    if manifest is not None and meta["manifest_sha256"] != manifest.sha256:
        raise BusbenchError(f"{path}: built from another version of {manifest.path}; rebuild it with `busbench cache`")
    return Cache(path, meta)


def build_cache(manifest: Manifest, size: int, mode: ResizeMode = "letterbox", channels: int = 1,
                cache_root: Path | None = None) -> Cache:
    """Build (or reuse) the cache of ``manifest`` at ``size`` px; returns it opened."""
    if mode not in RESIZE_MODES:
        raise BusbenchError(f"resize mode {mode!r} unknown; use one of {RESIZE_MODES}")
    if channels not in (1, 3):
        raise BusbenchError(f"channels must be 1 (grey) or 3 (RGB), got {channels}: set --channels (busbench cache) or "
                            "input.channels to 1 or 3")
    check_cache_size(size)
    root = Path(cache_root) if cache_root else manifest.path.parent / "cache"
    final = root / cache_dir_name(manifest, size, mode, channels)
    with locked(lock_file(root, final.name), f"caching {final}"):  # one builder at a time; the others reuse it
        return _open_or_build(manifest, size, mode, channels, final)


def _open_or_build(manifest: Manifest, size: int, mode: ResizeMode, channels: int, final: Path) -> Cache:
    if (final / CACHE_META).is_file():
        cache = open_cache(final, manifest)
        damaged = _arrays_intact(cache)
        if damaged is None:
            return cache
        logger.warning(f"{final}: damaged ({damaged}); rebuilding the cache")
        shutil.rmtree(final, ignore_errors=True)
    _check_room(final.parent, len(manifest.frame) * size * size * (channels + 1))
    logger.info(f"caching {len(manifest.frame)} images of {manifest.dataset} at {size} px ({mode}, {channels} "
                f"channel(s)) into {final}")
    started = time.perf_counter()
    tmp = temporary_path(final)  # a folder of this process's own: concurrent builders never share files
    tmp.mkdir(parents=True)
    try:
        with write_errors(final):  # a full disk or ulimit -f: one line, no partial cache
            _write_cache(manifest, size, mode, channels, tmp)
        if not (final / CACHE_META).is_file():  # else another process finished the same cache first: keep theirs
            shutil.rmtree(final, ignore_errors=True)  # an incomplete folder of an older version
            try:
                tmp.rename(final)
            except OSError:  # another process renamed its complete cache there meanwhile
                if not (final / CACHE_META).is_file():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info(f"cache built in {duration(time.perf_counter() - started)}")
    return open_cache(final, manifest)


def _mapped_array(path: Path, shape: tuple[int, ...]) -> np.memmap:
    """A new uint8 array file mapped for writing, its blocks reserved first: a sparse mapping on a
    disk that fills up meanwhile kills the process with SIGBUS instead of raising ENOSPC."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    with open(path, "r+b") as file:
        os.posix_fallocate(file.fileno(), 0, os.fstat(file.fileno()).st_size)
    return array


def _write_cache(manifest: Manifest, size: int, mode: ResizeMode, channels: int, tmp: Path) -> None:
    """The cache's arrays (memory-mapped, filled case by case), index and meta, into the folder ``tmp``."""
    frame = manifest.frame
    n = len(frame)
    shape = (n, size, size) + ((3,) if channels == 3 else ())
    images = _mapped_array(tmp / IMAGES_NPY, shape)
    masks = _mapped_array(tmp / MASKS_NPY, (n, size, size))
    placements = []
    for i, (_, row) in enumerate(progress(frame.iterrows(), f"Caching {manifest.dataset} at {size}px", total=n)):
        image, lesion = load_pair(manifest, row, channels)
        p = placement_for(lesion.shape[0], lesion.shape[1], size, mode)
        images[i] = place_image(image, p)
        masks[i] = place_mask(lesion, p)
        placements.append({"case_id": row["case_id"], **p.as_dict()})
    images.flush()
    masks.flush()
    del images, masks
    write_csv(pd.DataFrame(placements), tmp / "index.csv", float_format=None)
    meta = {"manifest_sha256": manifest.sha256, "dataset": manifest.dataset, "size": size, "mode": mode,
            "channels": channels, "cases": n, "busbench_version": __version__,
            ARRAY_SHA256: {name: file_sha256(tmp / name) for name in (IMAGES_NPY, MASKS_NPY)}}  # still in page cache
    write_json(meta, tmp / CACHE_META)
