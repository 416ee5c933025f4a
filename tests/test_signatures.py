"""Short argument lists: no function or method of the package (the CLI's commands aside, whose
parameters are its options) takes more than 6 parameters. Parameters that travel together become
one small frozen dataclass; a function that needs many sections of the config takes those sections.

Counted: every named parameter, positional or keyword-only, plus one for ``*args`` and one for
``**kwargs``; not ``self`` or ``cls``. Not counted: the constructor of a registered model
(``@register_model``), whose parameters are the ``model.kwargs`` keys a config sets one by one, as
the architecture's paper names them (TransUNet's hidden size, layers, heads, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import busbench

LIMIT = 6
SOURCE = Path(busbench.__file__).parent
EXEMPT = {"cli"}  # the command-line layer: a command's parameters are its options


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names) + (arguments.vararg is not None) + (arguments.kwarg is not None)


def _registered(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "register_model"
               for d in node.decorator_list)


def model_constructors(tree: ast.Module) -> set[ast.AST]:
    """The registered models' builders: decorated functions and decorated classes' ``__init__``."""
    found: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _registered(node):
            found.add(node)
        if isinstance(node, ast.ClassDef) and _registered(node):
            found |= {f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"}
    return found


def long_signatures(root: Path, limit: int = LIMIT) -> list[str]:
    """``file:line name (N parameters)`` of every function under ``root`` with more than ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in EXEMPT:
            continue
        tree = ast.parse(path.read_text())
        models = model_constructors(tree)
        functions = [node for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node not in models]
        found += [f"{relative}:{node.lineno} {node.name} ({parameter_count(node)} parameters)"
                  for node in sorted(functions, key=lambda n: n.lineno) if parameter_count(node) > limit]
    return found


def test_no_function_takes_more_than_six_parameters() -> None:
    assert len(list(SOURCE.rglob("*.py"))) > 100  # the package's real tree, not an empty folder
    offenders = long_signatures(SOURCE)
    assert offenders == [], (f"these take more than {LIMIT} parameters: group those that travel together into "
                             "a frozen dataclass, or pass the config section they come from:\n  "
                             + "\n  ".join(offenders))


def test_the_count_sees_every_kind_of_parameter(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text(
        "def six(a, b, /, c, *args, d, **kwargs): ...\n"
        "class K:\n"
        "    def seven(self, a, b, c, d, e, f, g): ...\n"
        "async def many(a, b, c, d, e, f, *, g=1): ...\n"
        "@register_model('m', paper='p')\n"
        "class Net:\n"
        "    def __init__(self, a, b, c, d, e, f, g): ...\n"
        "    def helper(self, a, b, c, d, e, f, g): ...\n")
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "command.py").write_text("def command(a, b, c, d, e, f, g, h): ...\n")
    assert long_signatures(tmp_path) == ["module.py:3 seven (7 parameters)", "module.py:4 many (7 parameters)",
                                         "module.py:8 helper (7 parameters)"]
