"""The model registry: architectures add themselves with ``@register_model`` and are built by name.

Every entry names its paper and, where one is published, the reference parameter count for the
stated configuration (3 input channels, 1 output class), which the tests check ours against. It
also declares the input sides it accepts (a multiple of its total down-sampling, from a minimum),
so a wrong ``input.size`` is refused when the config is read, not after hours of preparation.

``resolve_model`` is the one lookup every caller uses (config, trainer, predict, profile, report):
busbench's own names, then optional libraries' (``monai.UNet``), then an installed plugin's entry
point, then an import path ``module:attribute`` (``plugins.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from busbench.errors import BusbenchError

ModelBuilder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: ModelBuilder
    paper: str
    reference_params_m: float | None = None  # millions, for in_channels=3, num_classes=1
    reference_source: str = ""
    min_size: int = 32  # smallest input side (px) the architecture supports
    size_multiple: int = 32  # the input side must be a multiple of this (the total down-sampling)
    size_kwarg: str | None = None  # a builder argument that must equal the input side (MedT's img_size)
    test_kwargs: dict[str, object] = field(default_factory=dict)  # a small variant for fast tests
    origin: str = ""  # where code from outside busbench came from (module, distribution version or sha256)
    plugin: bool = False  # not tested by busbench: its output is checked by a forward pass before use

    def accepts(self, size: int) -> bool:
        return size >= self.min_size and size % self.size_multiple == 0

    def nearest_sizes(self, size: int) -> list[int]:
        """The valid sides just below and just above ``size`` (one where none is below)."""
        below = size - size % self.size_multiple
        candidates = [below, below + self.size_multiple] if below >= self.min_size else [self.min_size]
        return [c for c in candidates if c != size]

    def size_kwargs(self, size: int) -> dict[str, object]:
        """Builder arguments that depend on the input side."""
        return {self.size_kwarg: size} if self.size_kwarg else {}

    def size_kwarg_default(self) -> object:
        parameter = inspect.signature(self.builder).parameters[self.size_kwarg or ""]
        return parameter.default


MODELS: dict[str, ModelEntry] = {}  # busbench's own architectures
OPTIONAL_MODELS: dict[str, ModelEntry] = {}  # other libraries' networks, present when those are installed


class UnknownModelError(BusbenchError):
    """A model name that is neither registered, nor an installed plugin's, nor an import path."""


def register_model(name: str, paper: str, reference_params_m: float | None = None, reference_source: str = "",
                   min_size: int = 32, size_multiple: int = 32, size_kwarg: str | None = None,
                   test_kwargs: dict[str, object] | None = None) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a model class or builder function to the registry."""

    def add(builder: ModelBuilder) -> ModelBuilder:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = ModelEntry(name, builder, paper, reference_params_m, reference_source, min_size,
                                  size_multiple, size_kwarg, dict(test_kwargs or {}))
        return builder

    return add


def available_models() -> dict[str, ModelEntry]:
    """Every model known by name without importing any plugin: busbench's own and the optional ones."""
    return {**MODELS, **OPTIONAL_MODELS}


def resolve_model(name: str, setting: str = "model.name") -> ModelEntry:
    """The one place a model name is looked up: registered name, then entry point, then ``module:attribute``."""
    entry = available_models().get(name)
    if entry is not None:
        return entry
    from busbench.models.plugins import load_plugin  # plugins.py builds ModelEntry objects: imported here, not above

    entry = load_plugin(name, setting)
    if entry is None:
        raise UnknownModelError(
            f"unknown model {name!r} ({setting}); registered models: {', '.join(sorted(available_models()))}; "
            "or an installed plugin's name (entry point group busbench.models), or an import path module:attribute"
        )
    return entry


def check_input_size(name: str, size: int, kwargs: dict[str, object] | None = None, setting: str = "input.size",
                     channels: int = 3, model_setting: str = "model.name") -> None:
    """Refuse an input side model ``name`` cannot take, naming the nearest sides it can.

    ``kwargs`` are the model arguments of a config: a size argument among them must match ``size``.
    A plugin is also run once on a ``channels`` x ``size`` x ``size`` input, since busbench has never
    tested it.
    """
    entry = resolve_model(name, model_setting)
    if not entry.accepts(size):
        nearest = " or ".join(str(s) for s in entry.nearest_sizes(size))
        raise BusbenchError(
            f"{setting}={size} does not suit model {name!r}: it needs a multiple of {entry.size_multiple} px, "
            f"at least {entry.min_size}; nearest valid sizes: {nearest}"
        )
    if entry.size_kwarg:
        given = (kwargs or {}).get(entry.size_kwarg, entry.size_kwarg_default())
        if given != size:
            raise BusbenchError(
                f"model {name!r} is built for {entry.size_kwarg}={given} but {setting}={size}: "
                f"set model.kwargs.{entry.size_kwarg}={size}"
            )
    if entry.plugin:
        from busbench.models.plugins import check_plugin_output  # see resolve_model

        check_plugin_output(name, size, channels, kwargs or {}, model_setting)


def build_model(name: str, in_channels: int = 3, num_classes: int = 1, **kwargs: object) -> nn.Module:
    """Build a model by name; unknown names and arguments are errors naming the valid ones."""
    try:
        model = resolve_model(name).builder(in_channels=in_channels, num_classes=num_classes, **kwargs)
    except TypeError as exc:
        raise BusbenchError(f"model {name!r}: {exc}; check model.kwargs in the config") from exc
    if not isinstance(model, nn.Module):
        raise BusbenchError(f"model.name={name}: the builder returned a {type(model).__name__}, not a "
                            "torch.nn.Module; make it return the network")
    return model


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
