"""ImageNet-style encoders for transfer learning, with torchvision's parameter names so that
torchvision (and compatible) checkpoints load from a local file without renaming."""

from busbench.models.encoders.efficientnet import EFFICIENTNETS, EfficientNetEncoder
from busbench.models.encoders.resnet import RESNETS, ResNetEncoder

Encoder = ResNetEncoder | EfficientNetEncoder  # both give ``channels`` and ``forward_features``

ENCODERS: dict[str, tuple[type[Encoder], str]] = {**{name: (ResNetEncoder, name) for name in RESNETS},
            **{name: (EfficientNetEncoder, name) for name in EFFICIENTNETS}}

__all__ = ["ENCODERS", "Encoder", "EFFICIENTNETS", "RESNETS", "EfficientNetEncoder", "ResNetEncoder"]
