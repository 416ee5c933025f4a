"""Segmentation architectures, one file each, registered by name."""

from busbench.models import attention_unet, cmunet, cmunext, unet, unet3plus, unet_plus_plus, unext  # noqa: F401
from busbench.models.registry import MODELS, ModelEntry, build_model, count_parameters, register_model

__all__ = ["MODELS", "ModelEntry", "build_model", "count_parameters", "register_model"]
