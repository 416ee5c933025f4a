"""The model registry: architectures add themselves with ``@register_model`` and are built by name.

Every entry names its paper and, where one is published, the reference parameter count for the
stated configuration (3 input channels, 1 output class), which the tests check ours against. It
also declares the input sides it accepts (a multiple of its total down-sampling, from a minimum),
so a wrong ``input.size`` is refused when the config is read, not after hours of preparation.

``resolve_model`` is the one lookup every caller uses (config, trainer, predict, profile, report):
busbench's own names, then optional libraries' (``monai.UNet``; without the library, the extra that
installs it: ``optional.py``), then an installed plugin's entry
point, then an import path ``module:attribute`` (``plugins.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from busbench.errors import BusbenchError
from busbench.models.entry import InputSides, ModelBuilder, ModelEntry, Published
from busbench.models.optional import check_family_installed
from busbench.models.plugins import check_plugin_output, entry_point_names, load_plugin
from busbench.registry import add_once, similar_names

MODELS: dict[str, ModelEntry] = {}  # busbench's own architectures
OPTIONAL_MODELS: dict[str, ModelEntry] = {}  # other libraries' networks, present when those are installed


class UnknownModelError(BusbenchError):
    """A model name that is neither registered, nor an installed plugin's, nor an import path."""


def register_model(name: str, paper: str, published: Published | None = None, sides: InputSides = InputSides(),
                   test_kwargs: dict[str, object] | None = None,
                   display_name: str = "") -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a model class or builder function to the registry; ``display_name`` is how
    tables and figures name it (as its paper writes it: "CMUNeXt-S")."""

    def add(builder: ModelBuilder) -> ModelBuilder:
        add_once(MODELS, name, ModelEntry(name, builder, paper, published.params_m if published else None,
                                          published.source if published else "", sides.minimum, sides.multiple,
                                          sides.kwarg, dict(test_kwargs or {}), display_name=display_name), "model")
        return builder

    return add


def available_models() -> dict[str, ModelEntry]:
    """Every model known by name without importing any plugin: busbench's own and the optional ones."""
    return {**MODELS, **OPTIONAL_MODELS}


def model_names() -> list[str]:
    """Every model known by name: busbench's own and the optional ones (sorted), then installed plugins'."""
    return [*sorted(available_models()), *entry_point_names()]


def resolve_model(name: str, setting: str = "model.name") -> ModelEntry:
    """The one place a model name is looked up: registered name, then entry point, then ``module:attribute``."""
    entry = available_models().get(name)
    if entry is not None:
        return entry
    check_family_installed(name, setting)  # monai.UNet without MONAI: the extra to install, not "unknown model"
    entry = load_plugin(name, setting)
    if entry is None:
        known = available_models()
        close = similar_names(name, list(known))
        guess = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownModelError(
            f"unknown model {name!r} ({setting}); {guess}`busbench models` lists all {len(known)}; "
            "or give an installed plugin's name (entry point group busbench.models), or an import path module:attribute"
        )
    return entry


def check_input_size(name: str, size: int, kwargs: dict[str, object] | None = None, setting: str = "input.size",
                     model_setting: str = "model.name") -> None:
    """Refuse an input side model ``name`` declares it cannot take, naming the nearest sides it can;
    nothing is built, so a config is checked this way when it is read.

    ``kwargs`` are the model arguments of a config: a size argument among them must match ``size``.
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


def check_plugin_input(name: str, size: int, channels: int, kwargs: dict[str, object],
                      model_setting: str = "model.name") -> None:
    """For a plugin, which busbench has never tested, one forward pass on a ``channels`` x ``size`` x
    ``size`` input (once per process): run where the model is built, never when a config is read."""
    if resolve_model(name, model_setting).plugin:
        check_plugin_output(name, size, channels, kwargs, model_setting)


def build_model(name: str, in_channels: int = 3, num_classes: int = 1, **kwargs: object) -> nn.Module:
    """Build a model by name; unknown names and arguments are errors naming the valid ones."""
    return resolve_model(name).build(in_channels, num_classes, **kwargs)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
