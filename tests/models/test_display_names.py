"""Every model and dataset has the name a paper prints, and no two share one."""

from __future__ import annotations

from busbench.data.adapters import ADAPTERS
from busbench.models import MODELS
from busbench.models.entry import default_display_name
from busbench.models.registry import available_models


def test_every_registered_model_has_its_own_display_name() -> None:
    names = {name: entry.display_name for name, entry in MODELS.items()}
    assert all(names.values()), [name for name, shown in names.items() if not shown]
    assert len(set(names.values())) == len(names)
    assert names["unext"] == "UNeXt" and names["cmunext_s"] == "CMUNeXt-S" and names["unet"] == "U-Net"
    assert names["unet_plus_plus"] == "U-Net++" and names["nnunet_2d"] == "nnU-Net 2-D"
    assert names["unet_resnet34"] == "U-Net (ResNet-34)"
    titles = [entry.title() for entry in available_models().values()]
    assert len(set(titles)) == len(titles)


def test_models_from_outside_get_a_readable_default() -> None:
    assert default_display_name("monai.UNet") == "UNet (MONAI)"
    assert default_display_name("my_pkg.nets:build_net") == "build_net"
    assert default_display_name("mynet") == "mynet"


def test_every_dataset_adapter_has_its_own_display_name() -> None:
    names = {name: cls.display_name for name, cls in ADAPTERS.items()}
    assert names["busi"] == "BUSI" and names["busbra"] == "BUS-BRA" and names["bus_uclm"] == "BUS-UCLM"
    assert all(names.values()) and len(set(names.values())) == len(names)
