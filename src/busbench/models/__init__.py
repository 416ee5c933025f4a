"""Segmentation architectures, one file each, registered by name."""

from busbench.models import unet  # noqa: F401  (registration)
from busbench.models.registry import MODELS, ModelEntry, build_model, count_parameters, register_model

__all__ = ["MODELS", "ModelEntry", "build_model", "count_parameters", "register_model"]
