"""Initial weights follow each architecture's official code (busbench.models.init), or PyTorch's defaults
where that code has none.

Each check pools the weights of one kind, divided by the std the official code draws them with, and
asserts that the pool has std 1 and mean 0 (within five standard errors, at least 3 %); exact values (zero biases, unit
norms, zero position embeddings) are checked exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from busbench.models import MODELS, build_model
from busbench.models.encoder_decoder import EncoderDecoder
from busbench.models.medt import AxialAttention
from busbench.models.nnunet_resenc_2d import BasicBlockD
from busbench.models.swin_unet import WindowAttention
from busbench.models.transunet import TransformerLayer
from busbench.models.ukan import KANBlock
from busbench.models.unext import ShiftedMLPBlock, TokenizedStage

Draws = list[tuple[Tensor, float]]  # (weights, the std they are drawn with)

# the official code has no initialisation of its own: PyTorch's defaults are kept (see each module's docstring)
NO_OFFICIAL_INIT = {"unet", "attention_unet", "unet_plus_plus", "cmunet", "cmunext", "cmunext_s", "cmunext_l"}


def fan_in(w: Tensor) -> int:
    return w.shape[1] * w[0][0].numel()


def fan_out(w: Tensor) -> int:
    return w.shape[0] * w[0][0].numel()


def default_std(w: Tensor) -> float:
    """PyTorch's layer default: kaiming_uniform(a=sqrt(5)), i.e. uniform(+-1/sqrt(fan_in))."""
    return 1 / math.sqrt(3 * fan_in(w))


def grouped_fan_out_std(conv: nn.Conv2d) -> float:
    return math.sqrt(2 / (conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels // conv.groups))


def assert_drawn(draws: Draws, what: str) -> None:
    z = torch.cat([(w.detach() / std).flatten() for w, std in draws])
    assert z.numel() > 500, f"{what}: too few weights ({z.numel()}) for a statistic"
    tolerance = max(0.03, 5 / math.sqrt(z.numel()))  # five standard errors of the mean
    assert abs(z.std().item() - 1) < tolerance, f"{what}: std {z.std().item():.3f} x the expected one"
    assert abs(z.mean().item()) < tolerance, f"{what}: mean {z.mean().item():.3f} x the expected std"


def assert_pytorch_default(layers: list[nn.Module], what: str) -> None:
    """PyTorch's default draw, uniform(+-1/sqrt(fan_in)): inside the bound, and (looser, for few weights) its std."""
    for m in layers:
        assert m.weight.abs().max() <= 1 / math.sqrt(fan_in(m.weight)) + 1e-6, f"{what}: {m} not uniform"
    z = torch.cat([(m.weight.detach() / default_std(m.weight)).flatten() for m in layers])
    assert z.numel() > 200 and abs(z.std().item() - 1) < 0.1, f"{what}: std {z.std().item():.3f} x the default"


def zero_biases(modules: list[nn.Module]) -> None:
    for m in modules:
        if getattr(m, "bias", None) is not None:
            assert torch.count_nonzero(m.bias) == 0, f"{m}: bias not zero"


def layer_norms_are_identity(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def convs(model: nn.Module, kind: type[nn.Module] = nn.Conv2d) -> list[nn.Module]:
    return [m for m in model.modules() if type(m) is kind]


def check_unext(model: nn.Module) -> None:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert_drawn([(m.weight, 0.02) for m in linears], "linear layers (trunc normal 0.02)")
    token_convs = [m.dwconv for m in model.modules() if isinstance(m, ShiftedMLPBlock)]
    token_convs += [m.embed for m in model.modules() if isinstance(m, TokenizedStage)]
    assert_drawn([(c.weight, grouped_fan_out_std(c)) for c in token_convs], "token-stage convs (fan out)")
    zero_biases(linears + token_convs)
    others = [c for c in convs(model) if not any(c is t for t in token_convs)]
    assert_pytorch_default(others, "convolutional stages")
    layer_norms_are_identity(model)


def check_ukan(model: nn.Module) -> None:
    dwconvs = [seq[0] for m in model.modules() if isinstance(m, KANBlock) for seq in m.dwconvs]
    embeds = [model.embed1, model.embed2]
    assert_drawn([(c.weight, grouped_fan_out_std(c)) for c in embeds], "patch embeddings (fan out)")
    assert_drawn([(c.weight, grouped_fan_out_std(c)) for c in dwconvs], "KAN blocks' depthwise convs (fan out)")
    zero_biases(dwconvs + embeds)
    layer_norms_are_identity(model)


def check_swin_unet(model: nn.Module) -> None:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert_drawn([(m.weight, 0.02) for m in linears], "linear layers (trunc normal 0.02)")
    zero_biases(linears)
    tables = [m.relative_position_bias_table for m in model.modules() if isinstance(m, WindowAttention)]
    assert_drawn([(t, 0.02) for t in tables], "relative position bias tables")
    assert_pytorch_default(convs(model), "patch embedding and head")
    layer_norms_are_identity(model)


def check_transunet(model: nn.Module) -> None:
    layers = [m for m in model.modules() if isinstance(m, TransformerLayer)]
    mlp = [layer.ffn[i] for layer in layers for i in (0, 3)]
    assert_drawn([(m.weight, math.sqrt(2 / sum(m.weight.shape))) for m in mlp], "MLP (Glorot uniform)")
    biases = torch.cat([m.bias.detach() for m in mlp])
    assert 0 < biases.abs().max() < 1e-5 and 0.5e-6 < biases.std() < 2e-6  # normal(0, 1e-6)
    attention = [(layer.attention.in_proj_weight, default_std(layer.attention.in_proj_weight)) for layer in layers]
    attention += [(layer.attention.out_proj.weight, default_std(layer.attention.out_proj.weight)) for layer in layers]
    assert_drawn(attention, "attention projections (nn.Linear's default)")
    assert torch.count_nonzero(layers[0].attention.in_proj_bias) > 0  # nn.Linear's draw, not MHA's zeros
    assert torch.all(model.position_embedding == 0)


def check_medt(model: nn.Module) -> None:
    attention = [m for m in model.modules() if isinstance(m, AxialAttention)]
    assert_drawn([(m.qkv.weight, math.sqrt(1 / m.channels)) for m in attention], "qkv (normal, 1/in_planes)")
    relative = [(m.relative, math.sqrt(1 / m.group_channels)) for m in attention if m.positional]
    assert_drawn(relative, "relative embeddings (normal, 1/group_planes)")


def check_unet3plus(model: nn.Module) -> None:
    assert_drawn([(c.weight, math.sqrt(2 / fan_in(c.weight))) for c in convs(model)], "convs (He normal, fan in)")
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert_drawn([(m.weight - 1, 0.02) for m in norms], "batch-norm weights (normal(1, 0.02))")
    zero_biases(norms)


def check_nnunet_2d(model: nn.Module) -> None:
    layers = convs(model) + convs(model, nn.ConvTranspose2d)
    gain = math.sqrt(2 / (1 + 1e-2**2))
    assert_drawn([(c.weight, gain / math.sqrt(fan_in(c.weight))) for c in layers], "convs (He normal, slope 0.01)")
    zero_biases(layers)


def check_nnunet_resenc_2d(model: nn.Module) -> None:
    """nnU-Net's ResidualEncoderUNet.initialize: He normal (slope 0.01) and the last norm of every block 0."""
    check_nnunet_2d(model)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlockD)]
    last = [b.conv2[1] for b in blocks]
    assert blocks and all(torch.all(n.weight == 0) and torch.all(n.bias == 0) for n in last)
    others = [m for m in model.modules() if isinstance(m, nn.InstanceNorm2d) and not any(m is n for n in last)]
    assert others and all(torch.all(n.weight == 1) and torch.all(n.bias == 0) for n in others)


def check_encoder_decoder(model: nn.Module) -> None:
    assert isinstance(model, EncoderDecoder)
    encoder = convs(model.encoder)
    assert_drawn([(c.weight, math.sqrt(2 / fan_out(c.weight))) for c in encoder], "encoder (He normal, fan out)")
    zero_biases(encoder)
    decoder = convs(model.decoder)
    assert_drawn([(c.weight, math.sqrt(2 / fan_in(c.weight))) for c in decoder], "decoder (He uniform, fan in)")
    zero_biases(decoder + [model.head])
    head = model.head.weight
    assert head.abs().max() <= math.sqrt(6 / (fan_in(head) + fan_out(head)))  # Glorot uniform's bound
    transposed = convs(model.decoder, nn.ConvTranspose2d)
    if transposed:
        assert_pytorch_default(transposed, "transposed convs")


CHECKS: dict[str, Callable[[nn.Module], None]] = {
    "unext": check_unext, "ukan": check_ukan, "swin_unet": check_swin_unet, "transunet": check_transunet,
    "medt": check_medt, "unet3plus": check_unet3plus, "nnunet_2d": check_nnunet_2d,
    "nnunet_resenc_2d": check_nnunet_resenc_2d,
    **{name: check_encoder_decoder for name in MODELS if name.startswith(("unet_", "linknet_"))
       and name != "unet_plus_plus"},
}


def test_every_registered_model_is_classified() -> None:
    """A new architecture must say whether its official code initialises it (and be checked) or not."""
    assert not set(CHECKS) & NO_OFFICIAL_INIT
    assert set(MODELS) == set(CHECKS) | NO_OFFICIAL_INIT


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_init_follows_official_code(name: str) -> None:
    torch.manual_seed(0)
    CHECKS[name](build_model(name, 3, 1, **MODELS[name].test_kwargs))


@pytest.mark.parametrize("name", sorted(NO_OFFICIAL_INIT))
def test_init_keeps_pytorch_defaults_without_official_init(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 3, 1, **MODELS[name].test_kwargs)
    assert_pytorch_default(convs(model), "convolutions")
