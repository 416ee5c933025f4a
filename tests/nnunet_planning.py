"""nnU-Net's own planning of a tiny 2-D dataset, run as a script in a child process because nnunetv2
reads its folders (nnUNet_raw, nnUNet_preprocessed, nnUNet_results) from the environment when it is
imported and extracts the fingerprint in spawned workers.

    python tests/nnunet_planning.py OUT.json PLANNER [PLANNER ...]

writes 4 random 256x256 single-channel PNG images with a rectangular lesion mask into
$nnUNet_raw/Dataset901_BusbenchTiny, extracts the fingerprint, runs each planner, and writes per
planner its 2-D configuration and the batch size it plans for a training set of ``TRAINING_CASES``
such images (the tiny dataset caps the batch size at its own size).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

DATASET_ID, DATASET = 901, "Dataset901_BusbenchTiny"
SIDE, CASES = 256, 4
TRAINING_CASES = 624  # BUSI's training set: 80 % of its 780 images


def write_raw_dataset(raw: Path) -> None:
    folder = raw / DATASET
    (folder / "imagesTr").mkdir(parents=True)
    (folder / "labelsTr").mkdir()
    rng = np.random.default_rng(0)
    for i in range(CASES):
        image = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
        mask = np.zeros((SIDE, SIDE), np.uint8)
        mask[60 + 10 * i:140 + 10 * i, 70:170] = 1
        Image.fromarray(image).save(folder / "imagesTr" / f"case{i:03d}_0000.png")
        Image.fromarray(mask).save(folder / "labelsTr" / f"case{i:03d}.png")
    meta = {"channel_names": {"0": "ultrasound"}, "labels": {"background": 0, "lesion": 1}, "numTraining": CASES,
            "file_ending": ".png"}
    (folder / "dataset.json").write_text(json.dumps(meta))


def main(out: Path, planners: list[str]) -> None:
    write_raw_dataset(Path(os.environ["nnUNet_raw"]))
    import nnunetv2
    from nnunetv2.experiment_planning.plan_and_preprocess_api import extract_fingerprints, plan_experiment_dataset
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class

    extract_fingerprints([DATASET_ID], num_processes=1, check_dataset_integrity=True, verbose=False,
                         show_progress_bar=False)
    result = {}
    for name in planners:
        planner_class = recursive_find_python_class(os.path.join(nnunetv2.__path__[0], "experiment_planning"),
                                                    name, "nnunetv2.experiment_planning")
        _, identifier = plan_experiment_dataset(DATASET_ID, planner_class)
        plans_file = Path(os.environ["nnUNet_preprocessed"]) / DATASET / f"{identifier}.json"
        config = json.loads(plans_file.read_text())["configurations"]["2d"]
        voxels = float(TRAINING_CASES * np.prod(config["median_image_size_in_voxels"]))
        larger = planner_class(DATASET_ID).get_plans_for_configuration(
            config["spacing"], config["median_image_size_in_voxels"], "unused", voxels, {})
        result[name] = {"2d": config, "batch_size_for_training_set": larger["batch_size"]}
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
