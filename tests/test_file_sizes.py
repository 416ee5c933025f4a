"""Small files with one job each: every module of the package stays under 400 lines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import busbench

LIMIT = 400  # lines; a module that reaches it holds more than one job and is split
SOURCE = Path(busbench.__file__).parent


def oversized(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Line counts of the Python files under ``root`` that have ``limit`` lines or more."""
    counts = {str(path.relative_to(root)): len(path.read_text().splitlines()) for path in sorted(root.rglob("*.py"))}
    return {name: lines for name, lines in counts.items() if lines >= limit}


def test_every_module_is_under_the_line_limit() -> None:
    assert len(list(SOURCE.rglob("*.py"))) > 100  # the package's real tree, not an empty folder
    assert oversized(SOURCE) == {}, f"split these modules (one job per file, under {LIMIT} lines)"


def test_the_limit_counts_lines(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text("x = 1\n" * (LIMIT - 1))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * LIMIT)
    assert oversized(tmp_path) == {"pkg/big.py": LIMIT}


def test_every_slow_module_named_in_conftest_exists() -> None:
    """A renamed or moved slow module would silently join `make test-fast` again."""
    tests = Path(__file__).parent
    spec = importlib.util.spec_from_file_location("tests_conftest", tests / "conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    assert len(conftest.SLOW_MODULES) > 10
    assert {name for name in conftest.SLOW_MODULES if not (tests / name).is_file()} == set()
