"""The model registry: architectures add themselves with ``@register_model`` and are built by name.

Every entry names its paper and, where one is published, the reference parameter count for the
stated configuration (3 input channels, 1 output class), which the tests check ours against.
"""

from __future__ import annotations

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
    test_kwargs: dict[str, object] = field(default_factory=dict)  # a small variant for fast tests


MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, paper: str, reference_params_m: float | None = None, reference_source: str = "",
                   min_size: int = 32, test_kwargs: dict[str, object] | None = None
                   ) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a model class or builder function to the registry."""

    def add(builder: ModelBuilder) -> ModelBuilder:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        MODELS[name] = ModelEntry(name, builder, paper, reference_params_m, reference_source, min_size,
                                  dict(test_kwargs or {}))
        return builder

    return add


def build_model(name: str, in_channels: int = 3, num_classes: int = 1, **kwargs: object) -> nn.Module:
    """Build a registered model; unknown names and arguments are errors naming the valid ones."""
    if name not in MODELS:
        raise BusbenchError(f"unknown model {name!r}; registered models: {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name].builder(in_channels=in_channels, num_classes=num_classes, **kwargs)
    except TypeError as exc:
        raise BusbenchError(f"model {name!r}: {exc}; check model.kwargs in the config") from exc


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
