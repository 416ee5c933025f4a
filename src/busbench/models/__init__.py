"""Segmentation architectures, one file each, registered by name; MONAI's and plugins' resolved by name too."""

from busbench.models import (  # noqa: F401  (registration)
    attention_unet,
    cmunet,
    cmunext,
    encoder_decoder,
    medt,
    monai_nets,
    nnunet_2d,
    nnunet_resenc_2d,
    swin_unet,
    transunet,
    ukan,
    unet,
    unet3plus,
    unet_plus_plus,
    unext,
)
from busbench.models.entry import ModelEntry
from busbench.models.registry import (
    MODELS,
    available_models,
    build_model,
    check_input_size,
    check_plugin_input,
    count_parameters,
    model_names,
    register_model,
    resolve_model,
)

__all__ = ["MODELS", "ModelEntry", "available_models", "build_model", "check_input_size", "check_plugin_input",
           "count_parameters", "model_names", "register_model", "resolve_model"]
