"""audit.html opens in headless Chromium with its sections and its contact sheets drawn."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from browser import CHROMIUM_FLAGS, chromium
from PIL import Image

from busbench.audit.page import SECTIONS


def test_audit_page_renders_in_headless_chromium(audited: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    browser = chromium()
    page = (audited[0] / "audit.html").resolve().as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert all(title in dom for title in SECTIONS.values())
    assert dom.count('src="data:image/png;base64,') >= 8
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,3000", page], capture_output=True,
                   timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    green = (pixels[..., 1] > 200) & (pixels[..., 0] < 60) & (pixels[..., 2] < 60)
    assert green.sum() > 100  # the lesion outlines of the embedded sheets were decoded and drawn
