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


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (check its spelling against the documented settings)"
    return f"{key}: {error['msg']} (got {error.get('input')!r})"


def validate_config(raw: dict[str, Any], source: str = "config") -> ExperimentConfig:
    """Validate a dict into settings; errors list every bad key with the reason."""
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        details = "\n  ".join(_describe(e) for e in exc.errors())
        raise BusbenchError(f"{source}: invalid settings:\n  {details}") from exc


def load_config(path: Path | None, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment file (or the defaults when ``path`` is None) and apply overrides.

    The file's relative dataset folders are taken from its folder; ``${NAME}`` in dataset folders is
    expanded after the overrides, so ``--set data.root=PATH`` needs no variable.
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
    return validate_config(expand_variables(apply_overrides(raw, overrides or [])), str(path or "defaults"))
