"""List settings whose items must differ: the same test-time augmentation view twice would
silently count once (or, averaged twice, weigh that view double), and the same training seed twice
would be one cell counted as two runs, so a repeat is refused; the editor schema says so too (``uniqueItems``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field

Item = TypeVar("Item", bound=Hashable)


def distinct(values: list[Item]) -> list[Item]:
    """``values`` unchanged; a ValueError naming the repeated items."""
    repeated = [value for value, times in Counter(values).items() if times > 1]
    if repeated:
        raise ValueError(f"{', '.join(map(str, repeated))} listed more than once; list each once")
    return values


Distinct = Annotated[list[Item], AfterValidator(distinct), Field(json_schema_extra={"uniqueItems": True})]
