"""A network of an optional family (``monai.*``) without its library: the error names the extra to install.

The missing library is simulated: ``sys.modules[name] = None`` makes both ``find_spec`` and ``import``
fail as they do where the package is not installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.models import build_model, resolve_model
from busbench.models import monai_nets as monai_module
from busbench.models import registry as registry_module
from busbench.models.optional import FAMILIES, MissingExtraError

HINT = re.escape("pip install 'busbench[monai]'")
Hide = Callable[..., None]


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch) -> Hide:
    """Make packages unimportable and register the MONAI networks again, as `import busbench` would then."""

    def hide(*packages: str) -> None:
        for package in packages:
            monkeypatch.setitem(sys.modules, package, None)
        monkeypatch.setattr(registry_module, "OPTIONAL_MODELS", {})
        monkeypatch.setattr(monai_module, "OPTIONAL_MODELS", registry_module.OPTIONAL_MODELS)
        monai_module.register_monai_networks()

    return hide


def test_every_monai_network_without_monai_names_the_extra(without: Hide) -> None:
    without("monai")
    assert not [name for name in registry_module.available_models() if name.startswith("monai.")]
    for name in monai_module.NETWORKS:
        with pytest.raises(MissingExtraError, match=rf"model\.name={name} needs monai, .*{HINT}"):
            resolve_model(name)
    with pytest.raises(BusbenchError, match=rf"model\.name=monai\.UNet needs monai.*{HINT}"):
        load_config(None, ["model.name=monai.UNet", "input.size=64"])


def test_a_misspelt_monai_network_without_monai_names_the_extra_and_the_close_name(without: Hide) -> None:
    without("monai")
    with pytest.raises(MissingExtraError, match=rf"monai\.Unet needs monai.*{HINT}.*did you mean monai\.UNet"):
        resolve_model("monai.Unet")


def test_einops_missing_leaves_the_other_monai_networks_and_names_the_extra_for_two(without: Hide) -> None:
    pytest.importorskip("monai", reason="MONAI is not installed: pip install 'busbench[monai]'")
    without("einops")
    assert resolve_model("monai.UNet").name == "monai.UNet"
    for name in sorted(monai_module.NEED_EINOPS):
        with pytest.raises(MissingExtraError, match=rf"model\.name={name} needs einops, .*{HINT}"):
            resolve_model(name)


def test_monai_found_but_failing_on_import_is_the_same_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("monai", reason="MONAI is not installed: pip install 'busbench[monai]'")
    monkeypatch.setitem(sys.modules, "monai.networks.nets", None)
    failed = r"monai\.\* networks: importing monai\.networks\.nets failed "
    with pytest.raises(MissingExtraError, match=rf"{failed}.*{HINT}"):
        build_model("monai.UNet", in_channels=1)


def test_other_names_are_still_unknown_models(without: Hide) -> None:
    without("monai")
    with pytest.raises(BusbenchError, match=r"unknown model 'monaiUNet'"):
        resolve_model("monaiUNet")


def test_every_family_names_an_extra_that_installs_its_packages() -> None:
    """The hint must be true: the extra exists in pyproject.toml and lists each package a member needs."""
    extras = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert [(family.prefix, family.extra) for family in FAMILIES] == [("monai.", "monai")]  # the only one
    for family in FAMILIES:
        installed = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras[family.extra]}
        needed = {package for name in family.members for package in family.needs(name)}
        assert needed <= installed, f"busbench[{family.extra}] lacks {needed - installed}"
