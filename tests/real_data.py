"""Where the real datasets are (``BUSBENCH_DATA``, by default ``../shared/data``), for tests and
test helpers alike (a test module cannot import ``conftest`` by name: each test folder may have one)."""

from __future__ import annotations

import os
from pathlib import Path

from absent import missing

REPO = Path(__file__).resolve().parent.parent
# The folder the shipped configs name as ${BUSBENCH_DATA}; the Makefile and CI set ../shared/data, the default.
REAL_DATA = Path(os.environ.get("BUSBENCH_DATA", REPO.parent / "shared" / "data")).resolve()


def real_dataset(folder: str) -> Path:
    """Path of a real dataset; skipped where absent (a user's machine), an error in CI."""
    path = REAL_DATA / folder
    if not path.is_dir():
        missing(f"real data {path} not found (set BUSBENCH_DATA to the folder holding {folder}/)",
                "CI must run the real-data tests")
    return path
