"""The HTML report opens in a real browser (headless Chromium) with its tables and figures."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fake_results import write_run
from PIL import Image
from test_report import LABELS, A, B

from busbench.report.build import build_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium not found (Debian package `chromium`)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI installs it in .ci/run")
        pytest.skip(message)
    return found


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium()
    write_run(tmp_path / "runs", "busi", "model_a", A, LABELS)
    write_run(tmp_path / "runs", "busi", "model_b", B, LABELS)
    build_report(tmp_path / "runs", tmp_path / "out", qualitative=False)
    page = (tmp_path / "out" / "report.html").resolve().as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<table>") >= 3 and "model_a" in dom and "model_b" in dom
    assert dom.count('src="data:image/png;base64,') >= 3
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,2400", page], capture_output=True,
                   timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 10  # not a blank page
    blue = (abs(pixels[..., 0] - 31) < 30) & (abs(pixels[..., 1] - 119) < 30) & (abs(pixels[..., 2] - 180) < 30)
    assert blue.sum() > 200  # matplotlib's default blue: the embedded figures were decoded and drawn
