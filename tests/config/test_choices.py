"""Settings whose allowed values come from a registry: a loss or an augmentation preset registered in
code is a value the schema lists and the config accepts, with nothing else to edit."""

from __future__ import annotations

import pytest
from torch import nn

from busbench.augment import PRESETS
from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.losses import LOSSES, BCELoss
from busbench.registry import Registry


def _enum(section: str, key: str) -> list[str]:
    return list(ExperimentConfig.model_json_schema()["$defs"][section]["properties"][key]["enum"])


def test_the_schema_lists_the_registered_names() -> None:
    assert _enum("LossConfig", "name") == list(LOSSES.names()) == ["bce", "dice", "bce_dice", "focal", "tversky",
                                                                   "lovasz"]
    assert _enum("TrainConfig", "augmentation") == list(PRESETS.names()) == [
        "none", "light", "standard", "strong", "nnunet", "awesome_bus", "cmunext", "ccf_bdci_2021"]


def test_a_newly_registered_loss_is_a_valid_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BusbenchError, match="loss.name 'mine' is unknown"):
        load_config(None, ["loss.name=mine"])
    monkeypatch.setattr(LOSSES, "_items", {**LOSSES._items})  # undone after the test
    LOSSES.register("mine")(BCELoss)
    assert load_config(None, ["loss.name=mine"]).loss.name == "mine"
    assert "mine" in _enum("LossConfig", "name")


def test_a_registry_refuses_a_name_twice_and_names_the_setting() -> None:
    registry: Registry[type[nn.Module]] = Registry("loss.name")
    registry.register("dice")(BCELoss)
    with pytest.raises(ValueError, match="loss.name 'dice' is registered twice"):
        registry.register("dice")(BCELoss)
    assert registry.get("dice") is BCELoss
    with pytest.raises(BusbenchError, match=r"^loss.name 'dcie' is unknown; did you mean dice\? choose one of dice$"):
        registry.get("dcie")
