"""Exact and near-duplicate images: the pairs that must stay on one side of every split.

A link is a pair of case ids with the measure that linked them and its value, so a group can be
explained (``busbench split`` warnings, ``busbench audit`` contact sheets). Links are found within
one manifest (for the split) or between two sets of images (a model's training images and a test
set: ``model.init_from`` and ``eval.cross_datasets``).

Near-duplicates are found in two steps, because comparing every pair properly is too slow
(``busbench.data.duplicates.candidates``):

1. candidates: pairs that share many hashed keypoint descriptors (``busbench.data.duplicates.keypoints``),
   also between each image and the mirror of the others, and each image's nearest neighbours by
   perceptual hash of the image without its overlay;
2. checks: a candidate is linked when its keypoints agree on one similarity transform over a real
   part of the image (measure "matched keypoints": same frame re-cropped, shifted, zoomed, with or
   without calipers and text), or when the blurred images correlate after the best shift and zoom
   (measure "aligned correlation": consecutive frames under small probe motion). A pair matched
   through the mirror gets " (mirrored)" after its measure. Across two datasets keypoints need
   twice the inliers or the correlation of a copy as well.

Pixels that the device draws on every image of a size are ignored throughout
(``busbench.data.duplicates.overlay``), so a shared frame, body marker or text never links two patients.
Only fixed-size values are kept per image (about 25 kB: checksum, pHashes, 2 x 250 ORB keypoints,
a 48-px thumbnail), and images are read one at a time, so memory grows by that per image.
The thresholds were chosen on a labelled set of BUSI and BUS-BRA pairs
(``busbench/data/duplicates/reviewed_pairs.csv``, ``benchmarks/duplicates_eval.py``).

The search of a whole manifest (minutes on BUS-BRA) is kept beside its ``manifest.csv`` as
``duplicate_links-<key>.csv``, so a second split of the same data (another seed, test size or
fold count) reuses it. The key covers everything the links depend on: the manifest's checksum
(itself tied to the image files by ``data.integrity``), the settings, the detector's own source
files and OpenCV's version; a file that cannot be read is searched again, and a folder that
cannot be written only loses the reuse.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from busbench.data.duplicates.alignment import aligned_correlation, thumbnail
from busbench.data.duplicates.candidates import Pair, bits_apart, candidate_pairs, hash_values, identical_pairs
from busbench.data.duplicates.hashing import NEAR_DUPLICATE_DISTANCE, perceptual_hash
from busbench.data.duplicates.keypoints import Keypoints, keypoints, match
from busbench.data.duplicates.overlay import ConstantPixels, fill_constant
from busbench.data.manifest import Manifest
from busbench.errors import BusbenchError
from busbench.layout.atomic import write_csv
from busbench.layout.folders import DUPLICATE_LINKS_PREFIX
from busbench.log import logger
from busbench.progress import progress

LINK_COLUMNS = ["case_a", "case_b", "measure", "value"]
IDENTICAL = "identical pixels"
KEYPOINTS = "matched keypoints"
CORRELATION = "aligned correlation"
MIRRORED = " (mirrored)"  # appended to the measure when one image matched the other's mirror
CROSS_DATASET_INLIERS = 2  # across two datasets, keypoints alone link at this multiple of the inliers


@dataclass(frozen=True)
class DuplicateSettings:
    """How near-duplicates are found; every field is also a ``split.<field>`` config key."""

    # pHash bits (of the image without its overlay) within which a neighbour's correlation is checked
    near_duplicate_distance: int = NEAR_DUPLICATE_DISTANCE
    near_duplicate_inliers: int = 10  # RANSAC inliers of one similarity transform
    near_duplicate_spread: float = 0.03  # fraction of the image the inliers' bounding box covers
    near_duplicate_correlation: float = 0.95  # aligned correlation of the blurred images
    near_duplicate_max_scale: float = 1.4  # largest zoom between two copies

    def check(self) -> None:
        if not 0 <= self.near_duplicate_distance <= 64:
            raise BusbenchError(
                f"split.near_duplicate_distance must be 0..64 bits, got {self.near_duplicate_distance}")
        if self.near_duplicate_inliers < 3:
            raise BusbenchError(
                f"split.near_duplicate_inliers must be at least 3 (a transform needs 3 points), got "
                f"{self.near_duplicate_inliers}")
        if not 0.0 <= self.near_duplicate_spread <= 1.0:
            raise BusbenchError(f"split.near_duplicate_spread must be 0..1, got {self.near_duplicate_spread}")
        if not -1.0 <= self.near_duplicate_correlation <= 1.0:
            raise BusbenchError(
                f"split.near_duplicate_correlation must be -1..1, got {self.near_duplicate_correlation}")
        if self.near_duplicate_max_scale < 1.0:
            raise BusbenchError(
                f"split.near_duplicate_max_scale must be at least 1, got {self.near_duplicate_max_scale}")


@dataclass(frozen=True)
class _Described:
    """What the checks need of each image, in the order of the ids: fixed-size values only (pixel
    checksum, pHashes, at most 250 ORB keypoints, a 48-px thumbnail), plain and mirrored."""

    ids: list[str]
    pixels: list[str]
    hashes: np.ndarray  # uint64 pHash of the overlay-filled image
    mirrored_hashes: np.ndarray  # the same of its horizontal mirror
    keypoints: list[Keypoints]
    mirrored_keypoints: list[Keypoints]
    thumbnails: list[np.ndarray]  # float16: half the memory, far finer than the 0.95 threshold needs

    def __add__(self, other: _Described) -> _Described:
        return _Described(self.ids + other.ids, self.pixels + other.pixels,
                          np.concatenate([self.hashes, other.hashes]),
                          np.concatenate([self.mirrored_hashes, other.mirrored_hashes]),
                          self.keypoints + other.keypoints, self.mirrored_keypoints + other.mirrored_keypoints,
                          self.thumbnails + other.thumbnails)


def _header_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:  # reads the header only
        return image.height, image.width


def _describe(manifest: Manifest, ids: list[str]) -> _Described:
    """Two passes over the files, one image in memory at a time: the overlay statistics, then each
    image's descriptors."""
    rows = manifest.frame.set_index("case_id").loc[ids]
    table = list(rows.iterrows())
    overlay = ConstantPixels(_header_size(manifest.image_file(row)) for _, row in table)
    for _, row in progress(table, "duplicate search: overlay statistics", total=len(table)):
        overlay.add(manifest.image(row))
    hashes, mirrored_hashes, points, mirrored_points, thumbnails = [], [], [], [], []
    for _, row in progress(table, "duplicate search: keypoints and hashes", total=len(table)):
        image = manifest.image(row)
        constant = overlay.mask(image.shape)
        filled = fill_constant(image, constant)
        hashes.append(perceptual_hash(filled))
        mirrored_hashes.append(perceptual_hash(filled[:, ::-1]))
        points.append(keypoints(image, constant))
        mirrored_points.append(keypoints(np.ascontiguousarray(image[:, ::-1]), constant[:, ::-1]))
        thumbnails.append(thumbnail(filled).astype(np.float16))
    return _Described(list(ids), rows["pixel_sha256"].tolist(), hash_values(hashes), hash_values(mirrored_hashes),
                      points, mirrored_points, thumbnails)


def _thumbnails(described: _Described, i: int, j: int, mirrored: bool) -> tuple[np.ndarray, np.ndarray]:
    second = described.thumbnails[j][:, ::-1] if mirrored else described.thumbnails[j]
    return described.thumbnails[i].astype(np.float32), np.ascontiguousarray(second, dtype=np.float32)


def _check(described: _Described, pair: Pair, settings: DuplicateSettings,
           cross_dataset: bool) -> tuple[str, float] | None:
    """The measure that links the pair, or None. Across two datasets matched keypoints need twice
    the inliers, or the thumbnails to correlate as copies do (``near_duplicate_correlation``): two
    devices' speckle and text gave 10 chance inliers between unrelated scans, and unrelated
    BUSI/BUS-BRA pairs correlate up to 0.93."""
    i, j, mirrored = pair
    suffix = MIRRORED if mirrored else ""
    second = described.mirrored_keypoints[j] if mirrored else described.keypoints[j]
    found = match(described.keypoints[i], second, settings.near_duplicate_max_scale)
    others = described.mirrored_hashes if mirrored else described.hashes
    close = int(bits_apart(described.hashes[i], others[j])) <= settings.near_duplicate_distance
    matched = found.inliers >= settings.near_duplicate_inliers and found.spread >= settings.near_duplicate_spread
    if matched and (not cross_dataset or found.inliers >= CROSS_DATASET_INLIERS * settings.near_duplicate_inliers):
        return KEYPOINTS + suffix, float(found.inliers)
    if not (close or matched):
        return None
    correlation = aligned_correlation(*_thumbnails(described, i, j, mirrored))
    if correlation < settings.near_duplicate_correlation:
        return None
    return (KEYPOINTS + suffix, float(found.inliers)) if matched else (CORRELATION + suffix, round(correlation, 4))


def _links(described: _Described, settings: DuplicateSettings, split_at: int | None = None,
           cross_dataset: bool = False) -> pd.DataFrame:
    """Linked pairs i < j; with ``split_at``, only pairs with i < split_at <= j."""
    if len(described.ids) < 2:
        return pd.DataFrame(columns=LINK_COLUMNS)
    identical = identical_pairs(described.pixels, split_at)
    rows = [(i, j, IDENTICAL, 0.0) for i, j in identical]
    done = set(identical)
    pairs = candidate_pairs(described.keypoints, described.mirrored_keypoints, described.hashes,
                            settings.near_duplicate_distance, split_at)
    for pair in progress(pairs, "duplicate search: checking candidate pairs", total=len(pairs)):
        if pair[:2] not in done:
            found = _check(described, pair, settings, cross_dataset)
            if found is not None:
                done.add(pair[:2])
                rows.append((pair[0], pair[1], *found))
    rows.sort(key=lambda row: (row[0], row[1]))
    ids = described.ids
    return pd.DataFrame([(ids[i], ids[j], measure, float(value)) for i, j, measure, value in rows],
                        columns=LINK_COLUMNS)


def search_key(manifest: Manifest, settings: DuplicateSettings) -> str:
    """What a manifest's links depend on, hashed: its checksum, the settings, this package's source
    (a changed detector never reuses old links) and OpenCV's version (ORB's keypoints)."""
    digest = hashlib.sha256(json.dumps([manifest.sha256, asdict(settings), cv2.__version__]).encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _kept_links(path: Path) -> pd.DataFrame | None:
    """A kept search, or None where it is missing or damaged (then searched again)."""
    if not path.is_file():
        return None
    try:
        links = pd.read_csv(path, dtype={"case_a": str, "case_b": str, "measure": str}, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        logger.warning(f"{path}: damaged ({exc}); searching for duplicates again")
        return None
    if list(links.columns) != LINK_COLUMNS:
        logger.warning(f"{path}: not a table of {', '.join(LINK_COLUMNS)}; searching for duplicates again")
        return None
    return links.astype({"value": float})


def duplicate_links(manifest: Manifest, settings: DuplicateSettings) -> pd.DataFrame:
    """Every linked pair of images of ``manifest`` (columns ``LINK_COLUMNS``, case_a < case_b),
    from the kept search of this manifest and settings where there is one."""
    settings.check()
    kept = manifest.path.with_name(f"{DUPLICATE_LINKS_PREFIX}{search_key(manifest, settings)}.csv")
    links = _kept_links(kept)
    if links is not None:
        logger.info(f"duplicate search of {len(manifest.frame)} images reused from {kept}")
        return links
    logger.info(f"searching {len(manifest.frame)} images for exact and near duplicates")
    links = _links(_describe(manifest, manifest.frame["case_id"].tolist()), settings)
    try:
        write_csv(links, kept, float_format=None)
    except BusbenchError as exc:  # a read-only data folder: the split itself needs nothing written here
        logger.info(f"the duplicate search is not kept for the next split ({exc})")
    return links


def cross_duplicate_links(first: Manifest, first_ids: list[str], second: Manifest, second_ids: list[str],
                          settings: DuplicateSettings) -> pd.DataFrame:
    """Links between images ``first_ids`` of ``first`` (column case_a) and ``second_ids`` of
    ``second`` (column case_b); the two manifests may be the same or different datasets.

    Each set's overlay is estimated from that set alone, since two datasets' devices differ.
    """
    settings.check()
    a, b = _describe(first, list(first_ids)), _describe(second, list(second_ids))
    return _links(a + b, settings, split_at=len(a.ids), cross_dataset=first.dataset != second.dataset)
