"""Contact sheets: thumbnails side by side with the lesion outline (green) and detected overlay
pixels (magenta) drawn in, captioned with the case id, saved as PNG for the page to embed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from busbench.layout.atomic import atomic_path

THUMB = 128
CAPTION = 14
PER_SHEET = 10


@dataclass(frozen=True)
class Tile:
    """One thumbnail: the image, its lesion, optional overlay pixels, and a caption."""

    rgb: np.ndarray
    lesion: np.ndarray
    caption: str
    overlay: np.ndarray | None = None


def _tile(tile: Tile) -> Image.Image:
    shown = tile.rgb.copy()
    outline = tile.lesion & ~ndi.binary_erosion(tile.lesion, iterations=max(1, max(tile.lesion.shape) // THUMB))
    if tile.overlay is not None:
        shown[tile.overlay] = (255, 0, 255)
    shown[outline] = (0, 255, 0)
    image = Image.fromarray(shown)
    image.thumbnail((THUMB, THUMB), Image.Resampling.BOX)
    canvas = Image.new("RGB", (THUMB, THUMB + CAPTION), "white")
    canvas.paste(image, (0, 0))
    ImageDraw.Draw(canvas).text((2, THUMB + 1), tile.caption[:22], fill="black")
    return canvas


def write_sheet(tiles: Sequence[Tile], path: Path) -> Path:
    """Tiles in one row (at most ``PER_SHEET``) as a PNG at ``path``."""
    shown = [_tile(t) for t in tiles[:PER_SHEET]]
    sheet = Image.new("RGB", (len(shown) * (THUMB + 4), THUMB + CAPTION), "white")
    for i, tile in enumerate(shown):
        sheet.paste(tile, (i * (THUMB + 4), 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return path


def sheet_name(text: str) -> str:
    """A file name safe on every system for a sheet about ``text``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") + ".png"
