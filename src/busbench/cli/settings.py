"""`busbench config show|schema`: the settings, resolved or described, without reading the code."""

from __future__ import annotations

from busbench.cli.options import ConfigArgument, SetOption, config_path
from busbench.config import load_config
from busbench.config.reference import schema_json


def config_show(config: ConfigArgument, set_: SetOption = []) -> None:  # noqa: B006
    """Print the fully resolved YAML: defaults filled in, overrides applied, dataset folders expanded."""
    print(load_config(config_path(config), set_).to_yaml(), end="")


def config_schema() -> None:
    """Print the JSON schema of an experiment config, with a description of every key."""
    print(schema_json())
