"""How thop (the counter behind published BUS tables' "GFLOPs") differs from torch's FLOP counter.

For each model, at 1 x C x 224 x 224 as the seeds call thop, it prints both totals in GMACs and
then, per layer type, what each counter gives to the leaf modules of that type: thop from its
per-layer report, torch's ``FlopCounterMode`` by re-running each leaf module on the input it got.
The row "(outside leaf modules)" holds what runs as functional code in a ``forward``: attention
matrix products, ``F.interpolate``, element-wise arithmetic. thop cannot see it at all.

thop is never a dependency of busbench. Install it only for this script:

    pip install --target /tmp/speed/pkgs --no-deps thop
    PYTHONPATH=/tmp/speed/pkgs:src python benchmarks/thop_compare.py --models linknet_resnet18 transunet
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections import defaultdict

import torch
from torch import nn

from busbench.models import MODELS, build_model
from busbench.models.profile import count_flops, published_size


def thop_by_type(model: nn.Module, x: torch.Tensor) -> tuple[float, dict[str, float]]:
    """thop's total MACs and its MACs per leaf-module type (from its per-layer report)."""
    from thop import profile

    total, _, layers = profile(copy.deepcopy(model), inputs=(x,), verbose=False, ret_layer_info=True)
    modules = dict(model.named_modules())
    by_type: dict[str, float] = defaultdict(float)

    def walk(prefix: str, tree: dict[str, tuple[float, float, dict]]) -> None:
        for name, (ops, _, children) in tree.items():
            path = f"{prefix}{name}"
            if children:
                walk(path + ".", children)
            elif not any(True for _ in modules[path].children()):
                by_type[type(modules[path]).__name__] += ops

    walk("", layers)
    return float(total), by_type


def torch_by_type(model: nn.Module, x: torch.Tensor) -> tuple[float, dict[str, float]]:
    """FlopCounterMode's total MACs and its MACs per leaf-module type, each leaf re-run on its own input."""
    calls: list[tuple[nn.Module, tuple]] = []
    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_hook(lambda m, args, _: calls.append((m, args))) for m in leaves]
    with torch.no_grad():
        total = count_flops(model, x) / 2
    for hook in hooks:
        hook.remove()
    by_type: dict[str, float] = defaultdict(float)
    for module, args in calls:
        by_type[type(module).__name__] += count_flops(module, *args) / 2 if len(args) == 1 else 0.0
    by_type["(outside leaf modules)"] = total - sum(by_type.values())
    return total, by_type


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["linknet_resnet18", "transunet", "unext", "cmunext", "unet"])
    parser.add_argument("--channels", type=int, default=1, help="input channels (the seeds' test.py uses 1)")
    args = parser.parse_args()
    try:
        import thop  # noqa: F401
    except ImportError:
        print("thop is not installed: pip install --target /tmp/speed/pkgs --no-deps thop, then put that folder "
              "on PYTHONPATH. Nothing was compared.")
        return
    torch.set_num_threads(1)
    for name in args.models:
        size = published_size(name)
        torch.manual_seed(0)
        model = build_model(name, in_channels=args.channels, num_classes=1, **MODELS[name].size_kwargs(size)).eval()
        x = torch.rand(1, args.channels, size, size)
        thop_total, thop_types = thop_by_type(model, x)
        torch_total, torch_types = torch_by_type(model, x)
        print(f"\n{name} at 1x{args.channels}x{size}x{size}: thop {thop_total / 1e9:.3f} GMACs, "
              f"FlopCounterMode {torch_total / 1e9:.3f} GMACs (thop / torch = {thop_total / torch_total:.3f})")
        print(f"  {'layer type':<28}{'thop GMACs':>12}{'torch GMACs':>13}{'ratio':>8}")
        for kind in sorted(set(thop_types) | set(torch_types), key=lambda k: -max(thop_types.get(k, 0),
                                                                                    torch_types.get(k, 0))):
            a, b = thop_types.get(kind, 0.0), torch_types.get(kind, 0.0)
            if a or b:
                ratio = f"{a / b:.3f}" if b else "-"
                print(f"  {kind:<28}{a / 1e9:>12.4f}{b / 1e9:>13.4f}{ratio:>8}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
