"""No module climbs out of a cell or a fold by counting parents: the folder objects of
``busbench.layout.folders`` are the one place that knows how deep a cell sits."""

from __future__ import annotations

import re
from pathlib import Path

import busbench

SOURCE = Path(busbench.__file__).parent
CLIMB = re.compile(r"\.parents\[|\.parent\.parent\b")
# Climbs that are not out of a run folder, each with its reason.
ALLOWED = {
    "layout/folders.py",  # the folder objects themselves: a cell's run folder and output_dir
    "config/reference.py",  # the repository root (docs/configuration.md), from the source file
    "cli/options.py",  # the package's shipped configs/, from the source file
}


def climbs(root: Path = SOURCE) -> dict[str, list[str]]:
    """Module (relative to ``root``) -> its lines that climb parents, outside ``ALLOWED``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        numbered = enumerate(path.read_text().splitlines(), 1)
        lines = [f"{n}: {line.strip()}" for n, line in numbered if CLIMB.search(line)]
        if lines and name not in ALLOWED:
            found[name] = lines
    return found


def test_no_module_climbs_out_of_a_cell_or_a_fold_by_hand() -> None:
    assert climbs() == {}, "use CellFolder/FoldFolder/RunFolder (busbench.layout.folders) instead"


def test_the_check_finds_a_climb(tmp_path: Path) -> None:
    (tmp_path / "reader.py").write_text("data = cell.parents[2] / 'data'\nrun = fold.parent.parent\nok = p.parent\n")
    assert climbs(tmp_path) == {"reader.py": ["1: data = cell.parents[2] / 'data'", "2: run = fold.parent.parent"]}


def test_every_allowed_module_still_climbs() -> None:
    """An entry left in ALLOWED after its climb is gone would hide a new one."""
    assert all(CLIMB.search((SOURCE / name).read_text()) for name in ALLOWED)
