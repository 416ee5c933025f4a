"""Settings whose allowed values are whatever code registered (``busbench.registry``): the schema's
enum and the check below both read the registry, so a name is written once, beside its implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from busbench.errors import BusbenchError
from busbench.registry import Registry


def enum_of(registry: Registry[Any]) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` listing the registered names as the setting's enum, read when the schema is made."""

    def add(schema: dict[str, Any]) -> None:
        schema["enum"] = list(registry.names())

    return add


def registered(registry: Registry[Any]) -> Callable[[str], str]:
    """A field validator: the value unchanged if ``registry`` holds it, else a ValueError naming the choices."""

    def check(name: str) -> str:
        try:
            return registry.check(name)
        except BusbenchError as exc:
            raise ValueError(str(exc)) from exc

    return check
