"""Dataset folders in a config: environment variables and paths relative to the YAML file.

Shipped configs name their data as ``${BUSBENCH_DATA}/Dataset_BUSI_with_GT`` (as nnU-Net names
``nnUNet_raw``), so ``busbench run busi`` works from any directory once the variable is set. A
relative folder in a YAML file is taken from that file's folder, so a config and its data can move
together; ``--set`` values stay relative to the working directory, where the user typed them.
Only dataset folders (``root``, ``prepared`` of ``data``, its ``pool``, ``grid.datasets`` and
``eval.cross_datasets``) are treated so; outputs stay where the command runs.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from busbench.errors import BusbenchError

DATA_VARIABLE = "BUSBENCH_DATA"
FOLDER_KEYS = ("root", "prepared")
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _data_sections(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dataset section of a raw config with its dotted name."""
    data = raw.get("data")
    if isinstance(data, dict):
        yield "data", data
    pool = data if isinstance(data, list) else data.get("pool") if isinstance(data, dict) else None
    for i, entry in enumerate(pool if isinstance(pool, list) else []):  # ``data: [A, B]`` or ``data.pool``
        if isinstance(entry, dict):
            yield f"data.pool.{i}", entry
    for section, key in (("grid", "datasets"), ("eval", "cross_datasets")):
        entries = raw.get(section, {}).get(key) if isinstance(raw.get(section), dict) else None
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                yield f"{section}.{key}.{i}", entry


def _map_folders(raw: dict[str, Any], change: Callable[[str, str], str]) -> dict[str, Any]:
    result = copy.deepcopy(raw)
    for name, section in _data_sections(result):
        for key in FOLDER_KEYS:
            if isinstance(section.get(key), str):
                section[key] = change(f"{name}.{key}", section[key])
    return result


def resolve_relative_roots(raw: dict[str, Any], yaml_folder: Path) -> dict[str, Any]:
    """The YAML file's relative dataset folders, taken from its folder (made absolute)."""
    def resolve(_: str, value: str) -> str:
        if VARIABLE.match(value) or Path(value).expanduser().is_absolute():
            return value
        return os.path.abspath(yaml_folder / value)
    return _map_folders(raw, resolve)


def _unset(value: str) -> list[str]:
    """The environment variables ``value`` names that are not set."""
    return [name for match in VARIABLE.finditer(value) if (name := match.group(1) or match.group(2)) not in os.environ]


def unset_variables(raw: dict[str, Any]) -> list[str]:
    """The environment variables the dataset folders of ``raw`` name that are not set, each once."""
    found: list[str] = []
    def collect(_: str, value: str) -> str:
        found.extend(name for name in dict.fromkeys(_unset(value)) if name not in found)
        return value
    _map_folders(raw, collect)  # the one place that knows which keys are dataset folders
    return found


def expand_variables(raw: dict[str, Any], keep_unset: bool = False) -> dict[str, Any]:
    """``${NAME}`` in dataset folders replaced by the environment variable; unset is a one-line error, or, with
    ``keep_unset`` (for showing a config), the folder is left as written. A section with ``prepared`` drops its
    ``root``, which that folder's manifest replaces (so a shipped config's ``${BUSBENCH_DATA}`` root needs no
    variable where the data was prepared)."""
    raw = copy.deepcopy(raw)
    for _, section in _data_sections(raw):
        if section.get("prepared") is not None:
            section.pop("root", None)
    def expand(key: str, value: str) -> str:
        def lookup(match: re.Match[str]) -> str:
            variable = match.group(1) or match.group(2)
            if variable not in os.environ:
                below = VARIABLE.sub("", value).strip("/") or "the dataset"
                raise BusbenchError(
                    f"{key}: {value} needs the environment variable {variable}, which is not set; "
                    f"export {variable}=DIR, the folder that holds {below}/ (or --set {key}=PATH)")
            return os.environ[variable]
        if not VARIABLE.search(value) or (keep_unset and _unset(value)):
            return value
        return os.path.abspath(VARIABLE.sub(lookup, value))
    return _map_folders(raw, expand)


def missing_root_message(key: str, root: Path) -> str:
    """One line for a dataset folder that does not exist: how it was resolved, and the fix."""
    variable = os.environ.get(DATA_VARIABLE)
    now = f"{DATA_VARIABLE}={variable}" if variable is not None else f"{DATA_VARIABLE} is not set"
    return (f"{key} {root}: no such folder ({now}; ${{{DATA_VARIABLE}}} in a config is that variable, and a relative "
            f"folder in a YAML file is taken from the file's folder, not the working directory); set "
            f"{DATA_VARIABLE} to the folder holding {root.name}/, or --set {key}=PATH")
