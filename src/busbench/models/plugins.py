"""Models from outside busbench: an import path (``pkg.module:build``) or a ``busbench.models`` entry point.

Users benchmark their own network without forking busbench. Since busbench has never seen that
code, every table must say which code it was: its origin names the module and the version of the
installed distribution that holds it or, for a loose module, the sha256 of its source file. The
builder may declare ``min_size`` and ``size_multiple`` as attributes; otherwise one forward pass at
the configured input is the size check. Either way that pass also checks the output shape.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from functools import cache
from importlib.metadata import Distribution, EntryPoint, entry_points, packages_distributions, version
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from busbench.errors import BusbenchError
from busbench.models.entry import ModelEntry

ENTRY_POINT_GROUP = "busbench.models"
UNDECLARED = 1  # min_size and size_multiple of a builder that declares neither: any side, the forward pass decides


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def entry_point_names() -> list[str]:
    """Models that installed plugin packages register by name."""
    return sorted(_entry_points())


def find_entry_point(name: str) -> EntryPoint | None:
    return _entry_points().get(name)


def is_import_path(name: str) -> bool:
    module, sep, attribute = name.partition(":")
    return bool(sep and module and attribute)


def _one_line(exc: BaseException) -> str:
    """A plugin's exception in the one-line error: multi-line messages (torch's) are joined."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _import_module(module_name: str, name: str, setting: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # a plugin's own import-time error is as much the user's to fix
        raise BusbenchError(
            f"{setting}={name}: cannot import module {module_name!r} ({_one_line(exc)}); install the "
            "package that provides it or put its folder on PYTHONPATH"
        ) from exc


def _attribute(module: ModuleType, attribute: str, name: str, setting: str) -> Callable[..., nn.Module]:
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise BusbenchError(f"{setting}={name}: module {module.__name__!r} has no attribute {attribute!r}; "
                                "check the spelling after the ':'")
        target = getattr(target, part)
    if not callable(target):
        raise BusbenchError(f"{setting}={name}: {attribute!r} is a {type(target).__name__}, not callable; name a "
                            "class or function taking in_channels, num_classes and **kwargs")
    return target


def _source_sha256(module: ModuleType) -> str:
    source = getattr(module, "__file__", None)
    if not source or not Path(source).is_file():
        return "source file unknown"
    return f"{Path(source).name} sha256 {hashlib.sha256(Path(source).read_bytes()).hexdigest()}"


def _distribution_of(module_name: str) -> str | None:
    names = packages_distributions().get(module_name.partition(".")[0], [])
    return f"{names[0]} {version(names[0])}" if names else None


def _origin(target: str, module: ModuleType, distribution: Distribution | None) -> str:
    if distribution is not None:
        return f"{target} from {distribution.metadata['Name']} {distribution.version}"
    installed = _distribution_of(module.__name__)
    return f"{target} from {installed}" if installed else f"{target}, not installed: {_source_sha256(module)}"


def _declared_size(builder: object, attribute: str, name: str, setting: str) -> int:
    value = getattr(builder, attribute, UNDECLARED)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BusbenchError(f"{setting}={name}: the builder's {attribute} must be a positive integer (px), "
                            f"got {value!r}")
    return value


@cache
def load_plugin(name: str, setting: str = "model.name") -> ModelEntry | None:
    """The entry of an entry-point name or import path (imported once); None if ``name`` is neither."""
    entry_point = find_entry_point(name)
    if entry_point is not None:
        module_name, _, attribute = entry_point.value.partition(":")
        target, distribution = entry_point.value, entry_point.dist
    elif is_import_path(name):
        (module_name, _, attribute), target, distribution = name.partition(":"), name, None
    else:
        return None
    module = _import_module(module_name.strip(), name, setting)
    builder = _attribute(module, attribute.strip(), name, setting)
    return ModelEntry(name, builder, paper="your own model (plugin)",
                      min_size=_declared_size(builder, "min_size", name, setting),
                      size_multiple=_declared_size(builder, "size_multiple", name, setting),
                      origin=_origin(target, module, distribution), plugin=True)


@cache
def _checked_output(name: str, kwargs_json: str, size: int, channels: int, setting: str) -> None:
    entry = load_plugin(name, setting)  # cached: the entry check_input_size resolved
    assert entry is not None, "only a resolved plugin's output is checked"
    model = entry.build(channels, 1, **json.loads(kwargs_json)).eval()
    shape = f"1x{channels}x{size}x{size}"
    try:
        with torch.no_grad():
            output = model(torch.zeros(1, channels, size, size))
    except Exception as exc:  # whatever the plugin raises, it cannot take this input
        raise BusbenchError(
            f"{setting}={name}: the model fails on a {shape} input ({_one_line(exc)}); choose an "
            "input.size it accepts, or declare min_size / size_multiple on the builder"
        ) from exc
    first = output[0] if isinstance(output, list | tuple) and output else output
    got = tuple(first.shape) if isinstance(first, torch.Tensor) else type(first).__name__
    if got != (1, 1, size, size):
        raise BusbenchError(
            f"{setting}={name}: on a {shape} input the model returns {got}, expected (1, 1, {size}, {size}) (one "
            "lesion logit per pixel at the input size; a list or tuple may lead with it); fix its output layer"
        )


def check_plugin_output(name: str, size: int, channels: int, kwargs: dict[str, object], setting: str) -> None:
    """One dummy forward pass (batch 1, eval, no grad) before any work; once per process and setting."""
    _checked_output(name, json.dumps(kwargs, sort_keys=True, default=str), size, channels, setting)
