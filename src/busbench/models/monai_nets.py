"""MONAI's segmentation networks in 2-D, by name (``monai.UNet``), when MONAI is installed (``busbench[monai]``).

They are registered only when ``monai`` can be found, and MONAI is imported only when one is built:
importing it takes seconds, which ``import busbench`` must not pay. The defaults suit one-channel
2-D ultrasound at 64-512 px; ``model.kwargs`` override any of them. Each entry's valid input sides
were measured (a training step at batch 2, sides 8-136 px in steps of 8); UNETR and SwinUNETR
need einops, which the extra installs.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from torch import nn

from busbench.models.entry import ModelBuilder, ModelEntry, default_display_name
from busbench.models.optional import OptionalFamily, add_family, import_failure
from busbench.models.registry import OPTIONAL_MODELS

DEEPEST_LEVELS = 5  # DynUNet: at most 5 halvings, as nnU-Net's 2-D configurations
SMALLEST_BOTTLENECK = 8  # DynUNet: stop halving before the feature map would fall below 8 px


def _nets() -> Any:
    try:
        import monai.networks.nets
    except ImportError as exc:  # found when registered, yet failing now: a broken or mismatched install
        raise import_failure(MONAI, exc) from exc
    return monai.networks.nets


def basic_unet(in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    return _nets().BasicUNet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **kwargs)


def unet(in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    settings = {"channels": (16, 32, 64, 128, 256), "strides": (2, 2, 2, 2), "num_res_units": 2, **kwargs}
    return _nets().UNet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **settings)


def attention_unet(in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    settings = {"channels": (16, 32, 64, 128, 256), "strides": (2, 2, 2, 2), **kwargs}
    return _nets().AttentionUnet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **settings)


def seg_res_net(in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    settings = {"init_filters": 16, **kwargs}
    return _nets().SegResNet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **settings)


def unetr(in_channels: int, num_classes: int, img_size: int = 256, **kwargs: Any) -> nn.Module:
    return _nets().UNETR(spatial_dims=2, in_channels=in_channels, out_channels=num_classes,
                         img_size=(img_size, img_size), **kwargs)


def swin_unetr(in_channels: int, num_classes: int, **kwargs: Any) -> nn.Module:
    return _nets().SwinUNETR(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **kwargs)


def dyn_unet_strides(img_size: int) -> list[int]:
    """nnU-Net's rule in one dimension: halve while the side stays even and at least 8 px, 5 times at most."""
    strides, side = [1], img_size
    while len(strides) <= DEEPEST_LEVELS and side % 2 == 0 and side // 2 >= SMALLEST_BOTTLENECK:
        strides.append(2)
        side //= 2
    return strides


def dyn_unet(in_channels: int, num_classes: int, img_size: int = 256, **kwargs: Any) -> nn.Module:
    strides = dyn_unet_strides(img_size)
    settings = {"kernel_size": [3] * len(strides), "strides": strides, "upsample_kernel_size": strides[1:], **kwargs}
    return _nets().DynUNet(spatial_dims=2, in_channels=in_channels, out_channels=num_classes, **settings)


# name: builder, paper, min_size, size_multiple, size_kwarg, small test variant
NETWORKS: dict[str, tuple[ModelBuilder, str, int, int, str | None, dict[str, object]]] = {
    "monai.BasicUNet": (basic_unet, "Falk et al., Nature Methods 2019 (MONAI BasicUNet)", 32, 8, None,
                        {"features": (8, 8, 16, 32, 64, 8)}),
    "monai.UNet": (unet, "Kerfoot et al., STACOM 2018 (MONAI UNet, residual units)", 32, 16, None,
                   {"channels": (4, 8, 16, 32, 64)}),
    "monai.AttentionUnet": (attention_unet, "Oktay et al., MIDL 2018 (MONAI AttentionUnet)", 16, 16, None,
                            {"channels": (4, 8, 16, 32, 64)}),
    "monai.SegResNet": (seg_res_net, "Myronenko, BrainLes 2018 (MONAI SegResNet)", 16, 8, None,
                        {"init_filters": 8}),
    "monai.UNETR": (unetr, "Hatamizadeh et al., WACV 2022 (MONAI UNETR)", 16, 16, "img_size",
                    {"hidden_size": 96, "mlp_dim": 192, "num_heads": 4, "feature_size": 8}),
    "monai.SwinUNETR": (swin_unetr, "Hatamizadeh et al., BrainLes 2021 (MONAI SwinUNETR)", 64, 32, None,
                        {"feature_size": 12, "depths": (1, 1, 1, 1)}),
    "monai.DynUNet": (dyn_unet, "Isensee et al., Nature Methods 2021 (nnU-Net; MONAI DynUNet)", 32, 8, "img_size", {}),
}


NEED_EINOPS = {"monai.UNETR", "monai.SwinUNETR"}  # MONAI imports einops for them only when they are built
MONAI = add_family(OptionalFamily("monai.", "monai", ("monai",),
                                  {name: ("einops",) if name in NEED_EINOPS else () for name in NETWORKS}))


def register_monai_networks() -> None:
    """Add the networks to the optional models, if MONAI (and einops for two) can be imported, without importing;
    the others stay known by name to ``MONAI``, whose error names the extra that installs them."""
    for name, (builder, paper, min_size, multiple, size_kwarg, test_kwargs) in NETWORKS.items():
        if MONAI.missing(name):
            continue
        origin = f"MONAI {version('monai')}"
        OPTIONAL_MODELS[name] = ModelEntry(name, builder, paper, min_size=min_size, size_multiple=multiple,
                                           size_kwarg=size_kwarg, test_kwargs=test_kwargs, origin=origin,
                                           display_name=default_display_name(name))


register_monai_networks()
