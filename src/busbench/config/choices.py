"""Settings whose allowed values are whatever code registered (``busbench.registry``): the schema's
enum and the check below both read the registry, so a name is written once, beside its implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from busbench.errors import BusbenchError
from busbench.registry import Registry


def registered(registry: Registry[Any]) -> Callable[[str], str]:
    """A field validator: the value unchanged if ``registry`` holds it, else a ValueError naming the choices."""

    def check(name: str) -> str:
        try:
            return registry.check(name)
        except BusbenchError as exc:
            raise ValueError(str(exc)) from exc

    return check
