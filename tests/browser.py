"""Headless Chromium for the tests that open a page as a reader would (Debian's `chromium`,
which `.ci/run` installs): skipped where it is absent, an error in CI."""

from __future__ import annotations

import shutil

from absent import missing

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("headless Chromium not found (Debian package `chromium`)", "CI installs it in .ci/run")
    return found
