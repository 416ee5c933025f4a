"""MONAI is optional: no busbench module imports it when imported itself (it takes seconds, and may be absent)."""

from __future__ import annotations

import ast
from pathlib import Path

import busbench

OPTIONAL = {"monai", "einops"}


def module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported by the module's own statements, not inside functions or classes."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.partition(".")[0])
    return names


def test_no_module_imports_monai_at_import_time() -> None:
    sources = sorted(Path(busbench.__file__).parent.rglob("*.py"))
    assert len(sources) > 50
    offenders = [str(p) for p in sources if module_level_imports(p) & OPTIONAL]
    assert offenders == []


def test_the_check_sees_a_module_level_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\nfrom monai.networks import nets\n\ndef f():\n    import einops\n")
    assert module_level_imports(source) == {"os", "monai"}
