"""`busbench config show|schema|copy`: the settings, resolved or described, without reading the code, and
a shipped config copied to edit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from busbench.cli.options import SHIPPED_CONFIGS, ConfigArgument, SetOption, config_path, shipped_configs
from busbench.console import console, err_console
from busbench.errors import BusbenchError

SCHEMA_LINE = "$schema=schema.json"  # a shipped config's editor schema, beside it in the package


def config_show(config: ConfigArgument, set_: SetOption = []) -> None:  # noqa: B006
    """Print the fully resolved YAML: defaults filled in, overrides applied, dataset folders expanded (a folder
    naming an unset variable is shown as written, with a note on stderr, since showing needs no data)."""
    from busbench.config import load_config
    from busbench.config.paths import unset_variables

    settings = load_config(config_path(config), set_, keep_unset=True)
    print(settings.to_yaml(), end="")
    for name in unset_variables(settings.model_dump(mode="json")):
        err_console.print(f"note: {name} is not set, so the dataset folders naming ${{{name}}} are shown as written; "
                          f"export {name}=DIR before `busbench run`", markup=False, highlight=False)


def config_schema() -> None:
    """Print the JSON schema of an experiment config, with a description of every key."""
    from busbench.config.reference import schema_json

    print(schema_json())


def config_copy(
    name: Annotated[str, typer.Argument(help="A shipped config (`busbench configs` lists them).")],
    out: Annotated[Optional[Path], typer.Argument(help="The file or folder to write (default: ./NAME.yaml).")] = None,
) -> None:
    """Copy a shipped config to edit as your own: its comments kept, its editor schema the installed one."""
    from busbench.layout.atomic import write_text

    shipped = shipped_configs()
    if name not in shipped:
        raise BusbenchError(f"config {name!r}: not a shipped config; choose one of {', '.join(shipped)}")
    target = out or Path.cwd()
    target = target / f"{name}.yaml" if target.is_dir() else target
    if target.exists():
        raise BusbenchError(f"{target}: exists; give another file name, or remove it first")
    text = shipped[name].read_text().replace(SCHEMA_LINE, f"$schema={(SHIPPED_CONFIGS / 'schema.json').resolve()}")
    write_text(text, target)
    console.print(f"{name} copied to {target}: edit it, then `busbench run {target}`", markup=False, highlight=False)
