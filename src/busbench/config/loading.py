"""Reading a config: YAML, ``--set`` overrides and environment variables, validated into
``ExperimentConfig`` with every bad key named in one error."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from busbench.config.experiment import ExperimentConfig
from busbench.config.paths import expand_variables, resolve_relative_roots
from busbench.errors import BusbenchError
from busbench.registry import similar_names


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``a.b=c`` pairs applied to a nested dict (values parsed as YAML)."""
    result = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BusbenchError(f"--set {item!r}: expected KEY=VALUE such as train.epochs=5")
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise BusbenchError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "unreadable"
            raise BusbenchError(f"--set {item!r}: the value is not valid YAML ({problem}); quote it, or close "
                                "its brackets, e.g. --set 'train.epochs=5' or --set 'eval.tta=[hflip]'") from exc
    return result


def _known_keys(location: tuple[str, ...]) -> list[str]:
    """The setting names a section at ``location`` (``("train",)``) accepts; none where it takes any key."""
    model: Any = ExperimentConfig
    for part in location:
        field = getattr(model, "model_fields", {}).get(part)
        model = field.annotation if field is not None else None
    return list(getattr(model, "model_fields", {}))


def _describe(error: ErrorDetails) -> str:
    """One bad key: what is wrong with it and, for a typo, the settings it may have meant."""
    location = tuple(str(p) for p in error["loc"])
    key = ".".join(location)
    if error["type"] == "extra_forbidden":
        close = similar_names(location[-1], _known_keys(location[:-1]))
        guess = f"did you mean {', '.join('.'.join([*location[:-1], c]) for c in close)}?" if close else \
            "`busbench config show` prints every setting"
        return f"{key}: unknown key; {guess}"
    if error["type"] == "value_error":  # a validator's own message, which says what is wrong and the fix
        return f"{key}: {str(error['msg']).removeprefix('Value error, ')}"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def _source(error: ErrorDetails, overrides: list[str], source: str) -> str:
    """Where a bad key came from: the ``--set`` items that set it (or set keys inside it), else ``source``."""
    key = ".".join(str(p) for p in error["loc"])
    named = [item for item in overrides if (set_key := item.partition("=")[0].strip()) == key
             or set_key.startswith(f"{key}.") or key.startswith(f"{set_key}.")]
    return ", ".join(f"--set {item}" for item in named) or source


def validate_config(raw: dict[str, Any], source: str = "config",
                    overrides: list[str] | None = None) -> ExperimentConfig:
    """Validate a dict into settings; one error line names every bad key, where it came from (``source``, or
    the ``--set`` of ``overrides`` that set it) and the reason."""
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_source(e, overrides or [], source)}: {_describe(e)}" for e in exc.errors()]
        raise BusbenchError("; ".join(problems)) from exc


def load_config(path: Path | None, overrides: list[str] | None = None, keep_unset: bool = False) -> ExperimentConfig:
    """Read a YAML experiment file (or the defaults when ``path`` is None) and apply overrides.

    The file's relative dataset folders are taken from its folder; ``${NAME}`` in dataset folders is
    expanded after the overrides, so ``--set data.root=PATH`` needs no variable. ``keep_unset`` leaves a folder
    naming an unset variable as written instead of refusing it (to show a config, never to run one).
    """
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise BusbenchError(f"{path}: config file not found")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise BusbenchError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise BusbenchError(f"{path}: the top level must be a mapping of sections (data:, train:, ...)")
        raw = resolve_relative_roots(raw, path.parent)
    expanded = expand_variables(apply_overrides(raw, overrides or []), keep_unset)
    return validate_config(expanded, str(path or "defaults"), overrides)
