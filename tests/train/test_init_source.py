"""`model.init_from` weights whose training images hold a near-copy of a test image are refused: a
re-cropped copy has other pixels (no exact match), so only the near-duplicate search finds it. Real
BUSI images, since the search matches scanner texture."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image
from real_data import real_dataset

from busbench.data.duplicates.links import DuplicateSettings
from busbench.data.manifest import load_manifest
from busbench.data.prepare import prepare_dataset
from busbench.train.init_source import init_source_overlap


def _folder(root: Path, images: dict[str, Image.Image], masks: dict[str, Image.Image]) -> Path:
    for name, image in images.items():
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        image.save(root / "images" / f"{name}.png")
        masks[name].save(root / "masks" / f"{name}.png")
    return root


def test_weights_trained_on_a_recropped_copy_of_a_test_image_are_found(tmp_path: Path) -> None:
    busi = real_dataset("Dataset_BUSI_with_GT") / "benign"
    pairs = {n: (Image.open(busi / f"benign ({n}).png").convert("L"), Image.open(busi / f"benign ({n})_mask.png")
                 .convert("L")) for n in (1, 2, 3, 10, 11, 12)}
    source = _folder(tmp_path / "source", {f"s{n}": pairs[n][0] for n in (1, 2, 3)},
                     {f"s{n}": pairs[n][1] for n in (1, 2, 3)})
    image, mask = pairs[2]
    w, h = image.size
    box = (w // 14, h // 14, w - w // 14, h - h // 14)  # 7 % off each side, enlarged back: every pixel differs
    recropped = {"t2": image.crop(box).resize((w, h), Image.Resampling.BICUBIC),
                 **{f"t{n}": pairs[n][0] for n in (10, 11, 12)}}
    target = _folder(tmp_path / "target", recropped, {"t2": mask.crop(box).resize((w, h), Image.Resampling.NEAREST),
                                                      **{f"t{n}": pairs[n][1] for n in (10, 11, 12)}})
    prepare_dataset("folder", source, tmp_path / "source-prepared")
    prepare_dataset("folder", target, tmp_path / "target-prepared")
    trained, tested = load_manifest(tmp_path / "source-prepared"), load_manifest(tmp_path / "target-prepared")
    weights = tmp_path / "best.pt"
    torch.save({"training_images": {"manifest": str(trained.path), "case_ids": trained.frame["case_id"].tolist(),
                                    "pixel_sha256": trained.frame["pixel_sha256"].tolist()}}, weights)
    test_ids = tested.frame["case_id"].tolist()
    assert not set(tested.frame["pixel_sha256"]) & set(trained.frame["pixel_sha256"])  # no exact copy to find
    assert init_source_overlap(weights, tested, test_ids, DuplicateSettings()) == {"t2"}
