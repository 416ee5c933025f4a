"""Test modules import shared helpers from helper modules, never from ``conftest``: each test folder
may have its own ``conftest.py``, and which one ``import conftest`` finds depends on the order pytest
loaded them (under xdist, a collection error on one worker only)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_test_module_imports_conftest_by_name() -> None:
    pattern = re.compile(r"^\s*(from\s+(tests\.)?conftest\s+import|import\s+(tests\.)?conftest\b)", re.M)
    offenders = sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if pattern.search(p.read_text()))
    assert offenders == [], f"move what these import into a helper module (e.g. tests/real_data.py): {offenders}"
