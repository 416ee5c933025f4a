"""A tiny folder-layout dataset with every audit finding planted at a known place.

Backgrounds are synthetic B-mode images dimmed to at most 150 grey levels, so that only the
planted graphics are bright; masks are drawn here, so which case has which finding is known by
construction, not by running the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from layouts import cases, save
from PIL import Image

SIDE = 64
CENTRE_DISC = (32, 32, 10)


def disc(cy: int, cx: int, r: int, shape: tuple[int, int] = (SIDE, SIDE)) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def make_planted(root: Path) -> dict[str, str]:
    """Writes images/, masks/ and labels.csv under ``root``; returns case id -> planted finding."""
    backgrounds = [(np.asarray(Image.fromarray(c.image).resize((SIDE, SIDE))) * 0.6).astype(np.uint8)
                   for c in cases(12, seed=7, size=SIDE)]  # the generator's 64 x 51, made square
    plain = disc(*CENTRE_DISC)
    marks_image = backgrounds[4].copy()
    for y, x in ((21, 32), (43, 32), (32, 21), (32, 43)):  # caliper dots on the lesion outline
        marks_image[y, x] = 255
    doppler_image = np.dstack([backgrounds[5]] * 3)
    doppler_image[30:34, 30:34] = (220, 30, 20)  # a red flow spot inside the lesion
    wide = np.hstack([backgrounds[6], backgrounds[7], backgrounds[8][:, : SIDE // 2]])  # 64 x 160
    two = disc(20, 20, 6) | disc(44, 44, 6)
    border = np.zeros((SIDE, SIDE), bool)
    border[0:8, 20:40] = True
    tiny = np.zeros((SIDE, SIDE), bool)
    tiny[30:32, 30:32] = True  # 4 px = 0.1 % of the image
    planted = [  # name, image, mask, label, patient, finding
        ("orig", backgrounds[0], plain, "benign", "p0", "conflict"),
        ("copy", backgrounds[0], disc(30, 34, 12), "malignant", "p9", "conflict"),
        ("border", backgrounds[1], border, "benign", "p1", "border"),
        ("tiny", backgrounds[2], tiny, "malignant", "p2", "tiny"),
        ("two", backgrounds[3], two, "benign", "p3", "multi"),
        ("marks", marks_image, plain, "malignant", "p4", "marks"),
        ("doppler", doppler_image, plain, "benign", "p5", "doppler"),
        ("wide", wide, disc(32, 80, 10, (SIDE, wide.shape[1])), "malignant", "p6", "wide"),
        ("view1", backgrounds[9], plain, "benign", "p7", "patient"),
        ("view2", backgrounds[10], plain, "benign", "p7", "patient"),
        ("normal", backgrounds[11], np.zeros((SIDE, SIDE), bool), "normal", "p8", "none"),
    ]
    rows = ["image,label,patient_id"]
    for name, image, mask, label, patient, _ in planted:
        save(root / "images" / f"{name}.png", image)
        save(root / "masks" / f"{name}.png", mask.astype(np.uint8) * 255)
        rows.append(f"{name}.png,{label},{patient}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return {name: finding for name, *_, finding in planted}
