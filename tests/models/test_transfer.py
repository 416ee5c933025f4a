"""Transfer learning: faithful encoders, local weight files, frozen encoders, cross-dataset start."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.models import build_model
from busbench.models.encoders import ENCODERS
from busbench.models.weights import load_weights
from busbench.train.trainer import build_fold_model, set_encoder_frozen

# torchvision's published parameter counts, classifier included
TORCHVISION_PARAMS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184, "efficientnet_b2": 9_109_994, "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
}
SETTING = "model.kwargs.encoder_weights"


def _encoder(name: str, in_channels: int = 3) -> torch.nn.Module:
    cls, variant = ENCODERS[name]
    return cls(variant, in_channels)


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoders_match_torchvision_and_give_five_strides(name: str) -> None:
    encoder = _encoder(name)
    params = sum(p.numel() for p in encoder.parameters())
    last = encoder.classifier_in
    head = 0 if name.startswith("resnet") else last * 4 * last + 2 * 4 * last  # EfficientNet's 1x1 head conv + BN
    classifier_in = last if name.startswith("resnet") else 4 * last
    assert params + head + classifier_in * 1000 + 1000 == TORCHVISION_PARAMS[name]
    features = encoder.forward_features(torch.zeros(1, 3, 64, 64))
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2]
    assert [f.shape[1] for f in features] == encoder.channels


def test_weights_load_from_common_checkpoint_layouts(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = _encoder("resnet18")
    state = {f"module.{k}": v for k, v in source.state_dict().items()}
    state["module.fc.weight"], state["module.fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "ckpt.pth")
    target = _encoder("resnet18")
    assert load_weights(target, tmp_path / "ckpt.pth", SETTING) == 2  # the classifier is not used
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)


def test_rgb_first_conv_is_summed_for_grey_models(tmp_path: Path) -> None:
    source = _encoder("resnet18")
    torch.save(source.state_dict(), tmp_path / "rgb.pth")
    grey = _encoder("resnet18", in_channels=1)
    load_weights(grey, tmp_path / "rgb.pth", SETTING)
    torch.testing.assert_close(grey.conv1.weight, source.conv1.weight.sum(dim=1, keepdim=True))


def test_mismatched_weights_are_named(tmp_path: Path) -> None:
    torch.save(_encoder("resnet18").state_dict(), tmp_path / "r18.pth")
    with pytest.raises(BusbenchError, match=r"r18.pth: .* weights are missing"):
        load_weights(_encoder("resnet50"), tmp_path / "r18.pth", SETTING)
    torch.save(_encoder("resnet34").state_dict(), tmp_path / "r34.pth")
    with pytest.raises(BusbenchError, match="not found"):
        load_weights(_encoder("resnet34"), tmp_path / "nothere.pth", SETTING)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(BusbenchError, match="junk.pth: not a readable weights file"):
        load_weights(_encoder("resnet34"), tmp_path / "junk.pth", SETTING)
    bad = _encoder("resnet18").state_dict()
    bad["layer1.0.conv1.weight"] = torch.zeros(64, 64, 5, 5)
    torch.save(bad, tmp_path / "bad.pth")
    with pytest.raises(BusbenchError, match=r"layer1.0.conv1.weight has shape \(64, 64, 5, 5\)"):
        load_weights(_encoder("resnet18"), tmp_path / "bad.pth", SETTING)


class _Payload:
    """Unpickling this object runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def _weights_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Weights files an encoder cannot use, each with the start of its error."""
    marker = folder / "payload-ran"
    files = {name: folder / f"{name}.pth" for name in ("pickle", "torch_save", "text", "truncated", "empty",
                                                       "other_net", "not_tensors")}
    files["pickle"].write_bytes(pickle.dumps(_Payload(marker)))  # a bare crafted pickle
    torch.save({"state_dict": _encoder("resnet18").state_dict(), "hook": _Payload(marker)}, files["torch_save"])
    files["text"].write_text("resnet18 weights: https://download.pytorch.org/models/resnet18.pth\n")
    whole = folder / "whole.pth"
    torch.save(_encoder("resnet18").state_dict(), whole)
    files["truncated"].write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    files["empty"].write_bytes(b"")
    torch.save(torch.nn.Linear(3, 2).state_dict(), files["other_net"])
    torch.save({"epoch": 3, "lr": 0.1}, files["not_tensors"])
    refused, unreadable = "refused, it holds Python objects", "not a readable weights file"
    return {name: (path, {"pickle": refused, "torch_save": refused, "other_net": "120 of the model's 120 weights are "
                          "missing", "not_tensors": "no state dict found"}.get(name, unreadable))
            for name, path in files.items()}


@pytest.mark.parametrize("kind", ["pickle", "torch_save", "text", "truncated", "empty", "other_net", "not_tensors"])
def test_an_unusable_encoder_weights_file_is_one_line_naming_it_and_the_fix(tmp_path: Path, kind: str) -> None:
    path, reason = _weights_files(tmp_path)[kind]
    with pytest.raises(BusbenchError) as error:
        build_model("unet_resnet18", encoder_weights=str(path))
    message = str(error.value)
    assert message.startswith(f"{path}: {reason}") and "\n" not in message, message
    assert message.endswith(f"point {SETTING} at a local .pth/.pt file saved with torch.save(model.state_dict(), "
                            "path) from the same architecture"), message
    assert not (tmp_path / "payload-ran").exists()


def test_models_take_encoder_weights_by_path(tmp_path: Path) -> None:
    torch.manual_seed(1)
    source = _encoder("efficientnet_b0")
    torch.save({"model": source.state_dict()}, tmp_path / "b0.pt")
    model = build_model("linknet_efficientnet_b0", encoder_weights=str(tmp_path / "b0.pt"))
    torch.testing.assert_close(model.encoder.features[0][0].weight, source.features[0][0].weight)


def test_frozen_encoder_keeps_weights_and_statistics() -> None:
    torch.manual_seed(2)
    model = build_model("unet_resnet18", in_channels=1)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    model.train()
    set_encoder_frozen(model, True)
    optimizer = torch.optim.AdamW([p for p in model.parameters()], lr=0.1)
    model(torch.rand(2, 1, 64, 64)).mean().backward()
    optimizer.step()
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, before[key]), key
    set_encoder_frozen(model, False)
    assert all(p.requires_grad for p in model.encoder.parameters())
    with pytest.raises(BusbenchError, match="freeze_encoder_epochs needs a model with a pretrained encoder"):
        set_encoder_frozen(build_model("unext"), True)


def test_init_from_starts_every_fold_from_another_runs_weights(tmp_path: Path) -> None:
    torch.manual_seed(3)
    trained = build_model("unet", in_channels=1, base_channels=4)
    torch.save({"model": trained.state_dict(), "epoch": 7}, tmp_path / "best.pt")
    cfg = load_config(None, ["model.kwargs.base_channels=4", f"model.init_from={tmp_path / 'best.pt'}"])
    model = build_fold_model(cfg.model, cfg.input)
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert cfg.model.key() != load_config(None, ["model.kwargs.base_channels=4"]).model.key()
