"""How far apart the content fingerprints keep a dataset's cases, and how close they keep copies.

For every image of a dataset folder (BUSI's or BUS-BRA's layout, masks left out), the image is
copied four ways (2.3x larger, half size, JPEG quality 60 of the larger, JPEG quality 50 of the
half) and each copy is matched back to the originals with ``busbench.data.content.matching``.
Printed per copy: the lowest correlation of a copy with its original, the highest with another
image, and how many cases the one-to-one matching paired wrongly; then the highest correlation
between two images of different datasets (with --other). These are the figures that set
``MATCH_CORRELATION`` (docs/registry.md).

    python benchmarks/fingerprint_margin.py ../shared/data/Dataset_BUSI_with_GT --other ../shared/data/BUSBRA/Images
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from busbench.data.content.fingerprint import image_thumbnail
from busbench.data.content.matching import match_cases, thumbnail_correlation
from busbench.data.duplicates.hashing import pixel_sha256
from busbench.data.io import read_image

Copy = Callable[[np.ndarray], np.ndarray]


def _jpeg(grey: np.ndarray, quality: int) -> np.ndarray:
    _, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded: np.ndarray = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE))
    return decoded


def _scaled(grey: np.ndarray, factor: float) -> np.ndarray:
    size = (round(grey.shape[1] * factor), round(grey.shape[0] * factor))
    return cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA)


COPIES: dict[str, Copy] = {
    "2.3x larger": lambda g: _scaled(g, 2.3),
    "half size": lambda g: _scaled(g, 0.5),
    "larger, JPEG 60": lambda g: _jpeg(_scaled(g, 2.3), 60),
    "half, JPEG 50": lambda g: _jpeg(_scaled(g, 0.5), 50),
}


def _frame(images: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame([{"case_id": cid, "pixel_sha256": pixel_sha256(g), "width": g.shape[1], "height": g.shape[0],
                          "thumbnail": image_thumbnail(g)} for cid, g in images.items()])


def _images(folder: Path) -> dict[str, np.ndarray]:
    files = sorted(p for p in folder.rglob("*.png")
                   if "mask" not in p.name.lower() and "mask" not in p.parent.name.lower())
    return {str(p.relative_to(folder)): read_image(p) for p in files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a dataset folder (its images; files with 'mask' left out)")
    parser.add_argument("--other", type=Path, help="a folder of another dataset's images")
    args = parser.parse_args()
    originals = _images(args.folder)
    reference = _frame(originals)
    print(f"{len(originals)} images in {args.folder}")
    for name, copy in COPIES.items():
        copies = _frame({cid: copy(grey) for cid, grey in originals.items()})
        correlation = thumbnail_correlation(copies, reference)
        own = np.diag(correlation).copy()
        np.fill_diagonal(correlation, -1.0)
        pairs = match_cases(reference, copies.assign(case_id="copy of " + copies["case_id"]))
        wrong = int((pairs["query_id"].str.removeprefix("copy of ") != pairs["reference_id"]).sum())
        print(f"{name:16s} own original >= {own.min():.4f}; another image <= {correlation.max():.4f}; "
              f"paired {len(pairs)}/{len(copies)}, {wrong} wrongly")
    if args.other:
        other = _frame(_images(args.other))
        highest = thumbnail_correlation(other, reference).max()
        print(f"another dataset ({len(other)} images): correlation <= {highest:.4f}")


if __name__ == "__main__":
    main()
