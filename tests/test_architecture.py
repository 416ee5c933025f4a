"""The import graph of src/busbench, read with ``ast`` (every import: top level, inside functions and
under TYPE_CHECKING): no module imports itself back through others, and imports only point down the
layers of ARCHITECTURE.md, and down the floors inside ``report/`` and ``data/``.

A lazy import inside a function still ties two modules together, so it counts like any other.
Importing a package's ``__init__`` to reach a submodule is not counted: only the imports written.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import busbench

SOURCE = Path(busbench.__file__).parent

# Bottom to top. The first name after ``busbench.`` decides a module's layer; a module may import
# its own layer and the ones below it. ``busbench`` itself is the package's __init__, which re-exports
# the Python API (``api``) on top; the version the lower layers record is ``version``'s.
LAYERS: list[set[str]] = [
    {"version", "errors", "console", "log", "progress", "environment", "interrupt", "markdown", "layout", "records",
     "registry"},
    {"metrics"},
    {"data", "models", "losses", "augment"},  # losses and augment: what training is built from, below config
    {"config"},
    {"train"},
    {"evaluate"},
    {"pipeline", "deploy"},
    {"report"},
    {"audit"},
    {"cli", "__main__", "api", "busbench"},
]

# Inside a package, bottom to top, by the first name after ``busbench.<package>.`` (the package's own
# __init__ is its name): a module may import its own floor and the ones below it.
INNER_LAYERS: dict[str, list[set[str]]] = {
    "layout": [
        {"layout", "folders", "atomic"},  # where each artefact lives; how a file is written
        {"locks"},  # a folder that cannot be written holds no lock (atomic's NOT_WRITABLE)
    ],
    "report": [
        {"report", "collect", "names", "number_format", "report_files", "scored_sets"},  # runs read, names, files
        {"statistics"},
        {"tables"},
        {"figures"},  # figures draw the tables' numbers
        {"analyses"},  # each analysis writes its tables and figures
        {"page"},
        {"build"},  # orders the steps
        {"bundle"},  # results that travel: read runs as collect does; the leaderboard uses statistics, tables, page
    ],
    "data": [
        {"data", "choices", "problems", "labels", "io", "integrity", "csv_files", "geometry", "provenance", "synthetic",
         "root_link", "manifest", "cache"},
        {"adapters"},  # datasets' layouts -> manifest
        {"duplicates", "content"},  # content fingerprints; reviewed duplicates are matched by them
        {"split"},
        {"registry"},  # published splits: assign a copy's cases by content, verify a copy
        {"export"},
        # the entry points: prepare a dataset, read a prepared one, or the data a run was made on
        {"prepare", "access", "torch_dataset", "prepared", "run_data"},
    ],
}

# Imports that still run up a floor, each to be removed (none today).
KNOWN_UPWARD: set[tuple[str, str]] = set()


def module_files(root: Path = SOURCE) -> dict[str, Path]:
    """Dotted name -> file of every module of the package under ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names one import statement asks for: submodules where a name is one."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the package of ``module``
            package = module.split(".")
            package = package[: len(package) - node.level + (1 if is_package else 0)]
            base = ".".join([*package, *([base] if base else [])])
        yield base
        yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = list(_imported(node, module, path.name == "__init__.py"))
            if isinstance(node, ast.ImportFrom):  # ``from pkg import sub`` imports pkg.sub, not pkg's other names
                subs = [name for name in names[1:] if name in modules]
                names = subs if len(subs) == len(names) - 1 else [names[0], *subs]
            targets.update(name for name in names if name in modules and name != module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def floor_of(module: str, layers: list[set[str]], depth: int, table: str) -> int:
    """The floor of ``module`` in ``layers``, by its name ``depth`` parts in (its last part if shorter)."""
    parts = module.split(".")
    unit = parts[min(depth, len(parts) - 1)]
    for level, units in enumerate(layers):
        if unit in units:
            return level
    raise AssertionError(f"{module}: not in any layer; add {unit!r} to {table} in {__file__} and ARCHITECTURE.md")


def layer_of(module: str) -> int:
    return floor_of(module, LAYERS, 1, "LAYERS")


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if layer_of(target) > layer_of(module) and (module, target) not in KNOWN_UPWARD)


def inner_upward_imports(graph: dict[str, set[str]], package: str) -> list[str]:
    """Imports between two modules of ``busbench.<package>`` that go up its ``INNER_LAYERS``."""
    prefix = f"busbench.{package}"

    def inside(module: str) -> bool:
        return module == prefix or module.startswith(prefix + ".")

    def floor(module: str) -> int:
        return floor_of(module, INNER_LAYERS[package], 2, f"INNER_LAYERS[{package!r}]")

    return sorted(f"{module} -> {target}" for module, targets in graph.items() if inside(module)
                  for target in targets if inside(target) and floor(target) > floor(module))


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import leaf\n")
    (package / "sub" / "leaf.py").write_text("")
    (package / "top.py").write_text("import pkg.sub\n")
    (package / "lazy.py").write_text("def f():\n    from pkg.top import g\n")
    (package / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import lazy\n")
    (package / "back.py").write_text("from pkg.typed import x\n")
    (package / "cyclic.py").write_text("from pkg.back import y\n")
    (package / "sub" / "up.py").write_text("from ..cyclic import z\n")
    graph = import_graph(module_files(package))
    assert graph["pkg.sub"] == {"pkg.sub.leaf"} and graph["pkg.top"] == {"pkg.sub"}
    assert graph["pkg.lazy"] == {"pkg.top"} and graph["pkg.typed"] == {"pkg.lazy"}
    assert graph["pkg.sub.up"] == {"pkg.cyclic"}
    assert cycles(graph) == []
    (package / "top.py").write_text("import pkg.sub\nfrom pkg import cyclic\n")
    assert cycles(import_graph(module_files(package))) == [["pkg.back", "pkg.cyclic", "pkg.lazy", "pkg.top",
                                                           "pkg.typed"]]


def test_no_import_circle() -> None:
    assert cycles(import_graph(module_files())) == []


def test_imports_only_point_down_the_layers() -> None:
    assert upward_imports(import_graph(module_files())) == []


@pytest.mark.parametrize("package", sorted(INNER_LAYERS))
def test_imports_inside_a_package_point_down_its_floors(package: str) -> None:
    assert inner_upward_imports(import_graph(module_files()), package) == []


def test_an_import_up_a_packages_floors_is_found() -> None:
    graph = {"busbench.report.tables.model_rows": {"busbench.report.figures.plots", "busbench.report.collect"},
             "busbench.report.build": {"busbench.report.page.html"}, "busbench.data.manifest": {"busbench.report"},
             "busbench.data": {"busbench.data.split.assign"}}
    up = "busbench.report.tables.model_rows -> busbench.report.figures.plots"
    assert inner_upward_imports(graph, "report") == [up]
    assert inner_upward_imports(graph, "data") == ["busbench.data -> busbench.data.split.assign"]
    with pytest.raises(AssertionError, match="'novel' to INNER_LAYERS\\['report'\\]"):
        inner_upward_imports({"busbench.report.novel": {"busbench.report.build"}}, "report")


def test_every_known_upward_import_still_exists() -> None:
    """A removed back-up import is taken off KNOWN_UPWARD, so that it cannot come back unnoticed."""
    graph = import_graph(module_files())
    assert [edge for edge in KNOWN_UPWARD if edge[1] not in graph.get(edge[0], set())] == []
