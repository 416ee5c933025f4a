"""The base of every settings section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are errors, so a typo (``train.epoch``) names the key instead of being ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())
