"""`busbench config copy`: a shipped config copied to edit reads as the shipped one, comments kept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_runner import run_cli

from busbench.cli.options import shipped_configs
from busbench.config import load_config


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_a_copy_resolves_as_the_shipped_config_with_its_comments(name: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BUSBENCH_DATA", str(tmp_path / "datasets"))
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "config", "copy", name) == 0
    copy, shipped = tmp_path / f"{name}.yaml", shipped_configs()[name]
    assert load_config(copy).to_yaml() == load_config(shipped).to_yaml()
    comments = [line for line in shipped.read_text().splitlines() if line.startswith("#")]
    copied = [line for line in copy.read_text().splitlines() if line.startswith("#")]
    assert copied[1:] == comments[1:] and len(copied) == len(comments)
    schema = re.fullmatch(r"# yaml-language-server: \$schema=(.+)", copied[0])
    assert schema is not None and Path(schema.group(1)).is_absolute() and Path(schema.group(1)).is_file()
    capsys.readouterr()
    assert run_cli(monkeypatch, "config", "copy", name) == 2  # never over an edited copy
    assert f"{copy}: exists" in capsys.readouterr().err


def test_a_copy_goes_where_it_is_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "config", "copy", "demo", str(tmp_path)) == 0
    assert run_cli(monkeypatch, "config", "copy", "demo", str(tmp_path / "mine.yaml")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.yaml", "mine.yaml"]
    capsys.readouterr()
    assert run_cli(monkeypatch, "config", "copy", "busy") == 2
    assert "config 'busy': not a shipped config; choose one of " in capsys.readouterr().err
