"""pyproject's lower bound on torch: the oldest release that has every torch API busbench calls."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# text of a call -> (the torch release that brought it, the file that calls it)
APIS = {
    "dynamo=False": ((2, 5), "src/busbench/deploy/onnx_export.py"),  # torch.onnx.export's dynamo argument
    "is_bf16_supported(including_emulation=False)": ((2, 4), "src/busbench/train/device.py"),
    "torch.amp.GradScaler(device.type": ((2, 3), "src/busbench/train/trainer.py"),
    "sdpa_kernel(SDPBackend.MATH)": ((2, 3), "src/busbench/models/profile.py"),
}


def torch_lower_bound() -> tuple[int, ...]:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (bound,) = [match.group(1) for d in dependencies if (match := re.fullmatch(r"torch>=([\d.]+)", d))]
    return tuple(int(part) for part in bound.split("."))


def test_the_torch_bound_has_every_api_busbench_calls() -> None:
    """torch>=2.3 let pip keep a torch 2.3, where is_bf16_supported(including_emulation=...) fails."""
    bound = torch_lower_bound()
    for call, (release, path) in APIS.items():
        assert call in (REPO / path).read_text(), f"{path} no longer calls {call}: update APIS"
        assert bound >= release, f"pyproject's torch>={'.'.join(map(str, bound))} lacks {call} (torch {release})"
