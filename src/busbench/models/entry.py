"""A registered model: its builder, paper, published size and the input sides it accepts.

Its own module so that the registry and the plugin loader, which both make entries, import it
without importing each other.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from busbench.errors import BusbenchError

ModelBuilder = Callable[..., nn.Module]


def default_display_name(name: str) -> str:
    """A readable name for a model without a registered one: ``monai.UNet`` -> ``UNet (MONAI)``,
    ``my_pkg.nets:build_net`` -> ``build_net`` (a plugin), a plugin entry point's name as it is."""
    if name.startswith("monai."):
        return f"{name.removeprefix('monai.')} (MONAI)"
    last = re.split(r"[:./]", name)[-1] or name
    return last


@dataclass(frozen=True)
class Published:
    """A model's parameter count as published (millions, for 3 input channels and 1 class), and where."""

    params_m: float
    source: str


@dataclass(frozen=True)
class InputSides:
    """The input sides a model takes: multiples of ``multiple`` px (its total down-sampling) from
    ``minimum``; ``kwarg``: a builder argument that must equal the side (MedT's ``img_size``)."""

    minimum: int = 32
    multiple: int = 32
    kwarg: str | None = None


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
    display_name: str = ""  # how tables and figures name it ("CMUNeXt-S"); empty: derived from ``name``

    def title(self) -> str:
        """The name a reader sees: the registered display name, else the registry name as written."""
        return self.display_name or default_display_name(self.name)

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

    def build(self, in_channels: int = 3, num_classes: int = 1, **kwargs: object) -> nn.Module:
        """The network; wrong arguments and a builder that returns no ``nn.Module`` are errors naming the fix
        (an unknown argument: the ones the model takes)."""
        parameters = inspect.signature(self.builder).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            valid = [name for name in parameters if name not in ("self", "in_channels", "num_classes")]
            unknown = sorted(set(kwargs) - set(valid))
            if unknown:
                raise BusbenchError(f"model {self.name!r}: unknown argument(s) {', '.join(unknown)} (model.kwargs); "
                                    f"it takes {', '.join(valid) or 'none'}")
        try:
            model = self.builder(in_channels=in_channels, num_classes=num_classes, **kwargs)
        except TypeError as exc:
            raise BusbenchError(f"model {self.name!r}: {exc}; check model.kwargs in the config") from exc
        if not isinstance(model, nn.Module):
            raise BusbenchError(f"model.name={self.name}: the builder returned a {type(model).__name__}, not a "
                                "torch.nn.Module; make it return the network")
        return model
