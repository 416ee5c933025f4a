"""A deterministic generator of breast-ultrasound-like images with exact lesion masks.

It lets the whole benchmark run on a fresh machine without downloading anything, and gives tests
data whose ground truth is known exactly. Each image is built the way a B-mode image forms:

* an echogenicity map of layered tissue (bright skin line, dark subcutaneous fat, bright
  heterogeneous fibroglandular tissue, darker pectoral muscle), with low-frequency variation;
* a hypoechoic lesion: benign ones smooth ovals wider than tall (parallel orientation), malignant
  ones irregular with spicules and often taller than wide; normal images have none;
* posterior acoustic features below the lesion: shadowing for malignant, mild enhancement for
  benign;
* fully developed speckle: the echogenicity scales the amplitude of a laterally correlated
  complex Gaussian field (Rayleigh statistics), then log compression to 8 bits.

Cases are generated per patient from ``numpy.random.default_rng([seed, patient])``, so a patient's
images do not depend on how many were asked for. Some patients have a second view of the same
lesion, and a few images are re-saved near-copies filed under another patient, as real datasets
have (BUSI's ``malignant (145)`` = ``benign (433)``), so grouping is exercised too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from busbench.data.labels import BENIGN, MALIGNANT, NORMAL
from busbench.layout.atomic import write_png, write_text

LABEL_PROBABILITIES = {NORMAL: 0.17, BENIGN: 0.56, MALIGNANT: 0.27}  # BUSI's proportions
SECOND_VIEW_PROBABILITY = 0.3


@dataclass(frozen=True)
class SyntheticCase:
    """One generated image, its exact mask and what it shows."""

    name: str
    label: str
    patient_id: str
    image: np.ndarray  # uint8 (H, W)
    mask: np.ndarray  # bool (H, W)


@dataclass(frozen=True)
class _Lesion:
    cy: float
    cx: float
    ry: float
    rx: float
    angle: float
    harmonics: tuple[tuple[int, float, float], ...]  # (order, amplitude, phase)
    spicules: tuple[tuple[float, float, float], ...]  # (angle, length, width)


def _tissue(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    depth = np.linspace(0.0, 1.0, h)[:, None]
    skin = 0.12 + 0.03 * rng.random()
    fat = skin + 0.15 + 0.1 * rng.random()
    gland = fat + 0.35 + 0.1 * rng.random()
    profile = np.where(depth < skin, 0.9, np.where(depth < fat, 0.35, np.where(depth < gland, 0.75, 0.45)))
    layers = gaussian_filter(np.broadcast_to(profile, (h, w)), sigma=(h / 80 + 0.5, 0))
    slow = gaussian_filter(rng.standard_normal((h, w)), sigma=(h / 6, w / 6))
    texture = gaussian_filter(rng.standard_normal((h, w)), sigma=(h / 40 + 1, w / 20 + 1))
    texture = texture / (np.abs(texture).max() + 1e-9)
    echo: np.ndarray = np.clip(layers * (1 + 0.35 * texture + 0.15 * slow / (np.abs(slow).max() + 1e-9)), 0.05, 1.2)
    return echo


def _draw_lesion(rng: np.random.Generator, label: str, h: int, w: int) -> _Lesion:
    size = min(h, w) * rng.uniform(0.06, 0.22)
    if label == BENIGN:
        ry, rx = size * rng.uniform(0.55, 0.8), size * rng.uniform(1.0, 1.3)
        harmonics = tuple((k, rng.uniform(0.0, 0.06), rng.uniform(0, 2 * np.pi)) for k in (2, 3))
        spicules: tuple[tuple[float, float, float], ...] = ()
    else:
        ry, rx = size * rng.uniform(0.8, 1.3), size * rng.uniform(0.7, 1.1)
        harmonics = tuple((k, rng.uniform(0.05, 0.15) / (1 + k / 6), rng.uniform(0, 2 * np.pi)) for k in (3, 5, 7, 11))
        spicules = tuple(
            (rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.12))
            for _ in range(int(rng.integers(3, 9)))
        )
    return _Lesion(
        cy=h * rng.uniform(0.4, 0.6), cx=w * rng.uniform(0.3, 0.7), ry=ry, rx=rx,
        angle=rng.uniform(-0.3, 0.3), harmonics=harmonics, spicules=spicules,
    )


def lesion_mask(lesion: _Lesion, h: int, w: int) -> np.ndarray:
    """Pixels whose centre lies inside the lesion's star-shaped boundary r(theta)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dy, dx = yy - lesion.cy, xx - lesion.cx
    cos, sin = np.cos(lesion.angle), np.sin(lesion.angle)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    theta = np.arctan2(v / lesion.ry, u / lesion.rx)
    radius = np.hypot(u / lesion.rx, v / lesion.ry)
    boundary = np.ones_like(theta)
    for order, amplitude, phase in lesion.harmonics:
        boundary += amplitude * np.cos(order * theta + phase)
    for angle, length, width in lesion.spicules:
        gap = np.angle(np.exp(1j * (theta - angle)))
        boundary += length * np.clip(1 - np.abs(gap) / width, 0, None)
    inside: np.ndarray = radius <= boundary
    return inside


def _posterior(mask: np.ndarray, label: str, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative change below the lesion: shadow (malignant) or enhancement (benign)."""
    h, w = mask.shape
    cols = mask.any(axis=0)
    bottom = np.where(mask.any(axis=1))[0].max()
    column = gaussian_filter(cols.astype(float), sigma=max(w / 100, 0.5))
    below = (np.arange(h)[:, None] > bottom).astype(float)
    ramp = gaussian_filter(below, sigma=(max(h / 60, 0.5), 0))
    strength = rng.uniform(0.4, 0.75) if label == MALIGNANT else -rng.uniform(0.1, 0.3)
    change: np.ndarray = 1.0 - strength * ramp * column[None, :]
    return change


def _speckle(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    field = rng.standard_normal((h, w)) + 1j * rng.standard_normal((h, w))
    sigma = (max(h / 200, 0.6), max(w / 90, 1.0))  # cells longer laterally than axially
    field = gaussian_filter(field.real, sigma) + 1j * gaussian_filter(field.imag, sigma)
    amplitude = np.abs(field)
    speckle: np.ndarray = amplitude / np.sqrt(np.mean(amplitude**2))
    return speckle


def _render(echo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = echo.shape
    amplitude = echo * _speckle(rng, h, w)
    gain = np.linspace(1.0, 0.7, h)[:, None]  # imperfect time-gain compensation
    compressed = np.log1p(30.0 * amplitude * gain) / np.log1p(30.0 * 2.5)
    grey: np.ndarray = np.clip(np.rint(compressed * 255), 0, 255)
    return grey.astype(np.uint8)


def _views(rng: np.random.Generator, label: str, h: int, w: int, n_views: int) -> list[tuple[np.ndarray, np.ndarray]]:
    lesion = _draw_lesion(rng, label, h, w) if label != NORMAL else None
    views = []
    for _ in range(n_views):
        echo = _tissue(rng, h, w)
        mask = np.zeros((h, w), dtype=bool)
        if lesion is not None:
            shifted = _Lesion(**{**lesion.__dict__, "cx": lesion.cx + rng.uniform(-0.1, 0.1) * w})
            mask = lesion_mask(shifted, h, w)
            if not mask.any():
                mask[int(shifted.cy), int(shifted.cx)] = True
            inside = gaussian_filter(mask.astype(float), sigma=0.7 if label == MALIGNANT else 1.2)
            echo = echo * (1 - (1 - rng.uniform(0.12, 0.3)) * inside) * _posterior(mask, label, rng)
        views.append((_render(echo, rng), mask))
    return views


def generate_cases(count: int, size: int, seed: int, near_duplicate_rate: float = 0.03) -> list[SyntheticCase]:
    """``count`` cases of ``size`` px width (height 0.8 x width), deterministic in ``seed``."""
    return list(iter_cases(count, size, seed, near_duplicate_rate))


def iter_cases(count: int, size: int, seed: int, near_duplicate_rate: float = 0.03) -> Iterator[SyntheticCase]:
    """``generate_cases`` one case at a time, so a caller can show progress (500 cases at 256 px take
    tens of seconds)."""
    h, w = max(int(round(size * 0.8)), 8), size
    labels, probs = list(LABEL_PROBABILITIES), list(LABEL_PROBABILITIES.values())
    cases: list[SyntheticCase] = []
    patient = 0
    while len(cases) < count:
        rng = np.random.default_rng([seed, patient])
        label = labels[int(rng.choice(len(labels), p=probs))]
        n_views = 2 if rng.random() < SECOND_VIEW_PROBABILITY else 1
        for image, mask in _views(rng, label, h, w, n_views):
            if len(cases) == count:
                break
            cases.append(SyntheticCase(f"syn_{len(cases):05d}", label, f"P{patient:05d}", image, mask))
            yield cases[-1]
        if len(cases) < count and cases and rng.random() < near_duplicate_rate:
            source = cases[int(rng.integers(len(cases)))]
            brighter = np.clip(source.image.astype(np.int16) + 3, 0, 255).astype(np.uint8)
            copy_name = f"syn_{len(cases):05d}"
            cases.append(SyntheticCase(copy_name, source.label, f"P{patient:05d}D", brighter, source.mask))
            yield cases[-1]
        patient += 1


def write_cases(cases: Iterable[SyntheticCase], root: Path) -> None:
    """Write ``images/``, ``masks/`` (0/255 PNG) and ``cases.csv`` (image,label,patient_id), each case as
    ``cases`` yields it."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    lines = ["image,label,patient_id"]
    for case in cases:
        write_png(case.image, root / "images" / f"{case.name}.png")
        write_png(case.mask.astype(np.uint8) * 255, root / "masks" / f"{case.name}.png")
        lines.append(f"{case.name}.png,{case.label},{case.patient_id}")
    write_text("\n".join(lines) + "\n", root / "cases.csv")
