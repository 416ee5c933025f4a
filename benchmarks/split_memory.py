"""Split time and peak memory against the number of images, on generated images.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/split_memory.py [--side 512] [--sizes 250 500 1000 1500]``.
Generates distinct speckle-like images of ``--side`` px width (one patient each) into a temporary
folder, prepares the first N for each N, and runs ``plan_split`` with the
default settings (duplicate search included) in two fresh subprocesses per N: one reports its wall
time and peak resident memory (``ru_maxrss``, OpenCV and the interpreter included; the resident
memory after the imports is printed beside it), the other the peak of Python and NumPy allocations
(tracemalloc, which slows allocation-heavy code and adds its own memory, so it is kept out of the
first). Each run searches afresh (the kept search of the first is deleted). Ends with the
per-image slopes between the two largest N and the time and memory they extrapolate to for 50,000
images.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from busbench.data.prepare import prepare_dataset

MEASURE = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
import cv2
from busbench.data.manifest import load_manifest
from busbench.data.split.split_file import SplitSettings, plan_split
cv2.setNumThreads(1)
manifest = load_manifest(Path(sys.argv[1]))
for kept in manifest.path.parent.glob("duplicate_links-*.csv"):
    kept.unlink()
traced = sys.argv[2] == "traced"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if traced:
    tracemalloc.start()
start = time.perf_counter()
plan_split(manifest, SplitSettings())
seconds = time.perf_counter() - start
if traced:
    print(json.dumps({"traced_mb": tracemalloc.get_traced_memory()[1] / 2**20}))
else:
    print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_after_imports_mb": before / 1024}))
"""


def generate(root: Path, count: int, side: int) -> list[tuple[str, str, str]]:
    """``count`` distinct images under root/all (blurred noise: speckle-like texture that gives ORB
    its keypoints, fresh per image, so no pair is a duplicate) with a disc lesion each; returns
    (file, label, patient) in order."""
    (root / "all").mkdir(parents=True)
    rng = np.random.default_rng(0)
    height = round(side * 0.8)
    yy, xx = np.mgrid[:height, :side]
    rows: list[tuple[str, str, str]] = []
    for index in range(count):
        noise = cv2.GaussianBlur(rng.normal(size=(height, side)).astype(np.float32), (0, 0), 2.0)
        image = np.clip(110 + 400 * noise, 0, 255).astype(np.uint8)
        cy, cx, r = rng.integers(height // 4, 3 * height // 4), rng.integers(side // 4, 3 * side // 4), side // 10
        name = f"case_{index:05d}"
        Image.fromarray(image).save(root / "all" / f"{name}.png")
        Image.fromarray(((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8) * 255).save(
            root / "all" / f"{name}_mask.png")
        rows.append((f"{name}.png", "benign", name))
    return rows


def subset(root: Path, rows: list[tuple[str, str, str]], n: int) -> Path:
    """A folder-layout dataset of the first ``n`` cases (links to the generated files), prepared."""
    raw = root / f"raw{n}"
    for folder in ("images", "masks"):
        (raw / folder).mkdir(parents=True)
    for file, _, _ in rows[:n]:
        os.symlink(root / "all" / file, raw / "images" / file)
        os.symlink(root / "all" / file.replace(".png", "_mask.png"), raw / "masks" / file)
    (raw / "labels.csv").write_text("image,label,patient_id\n" + "".join(f"{f},{lab},{p}\n" for f, lab, p in rows[:n]))
    prepare_dataset("folder", raw, root / f"data{n}", {"labels_csv": "labels.csv"})
    return root / f"data{n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 1500])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        rows = generate(Path(work), max(args.sizes), args.side)
        for n in sorted(args.sizes):
            data = subset(Path(work), rows, n)
            measured: dict[str, float] = {"images": n}
            for mode in ("timed", "traced"):
                done = subprocess.run([sys.executable, "-c", MEASURE, str(data), mode], check=True,
                                      capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
                measured.update(json.loads(done.stdout.strip().splitlines()[-1]))
            results.append(measured)
            r = results[-1]
            print(f"{n:>6} images of {args.side} px: split {r['seconds']:7.1f} s, peak traced {r['traced_mb']:7.1f} "
                  f"MB, peak resident {r['rss_mb']:7.1f} MB ({r['rss_after_imports_mb']:.0f} MB after imports); "
                  f"load average {os.getloadavg()[0]:.1f}",
                  flush=True)
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        per_image = {key: (b[key] - a[key]) / (b["images"] - a["images"]) for key in ("seconds", "rss_mb")}
        target = 50_000
        print(f"slope: {per_image['seconds'] * 1000:.1f} ms and {per_image['rss_mb'] * 1024:.1f} kB per image; "
              f"extrapolated to {target} images: {b['seconds'] + per_image['seconds'] * (target - b['images']):.0f} s, "
              f"{b['rss_mb'] + per_image['rss_mb'] * (target - b['images']):.0f} MB resident")


if __name__ == "__main__":
    main()
