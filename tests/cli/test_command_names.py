"""The command line's names and choices: `export test` and its hidden old spelling `export-test`,
and the options whose values are a fixed set, refused by the command line with the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from square_data import SquareData, make_square_data


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> SquareData:
    return make_square_data(tmp_path_factory.mktemp("squares"))


def _written(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_export_test_and_its_old_spelling_write_the_same_files(squares: SquareData, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "export", "test", str(squares.data_dir), "--out", str(tmp_path / "new")) == 0
    assert run_cli(monkeypatch, "export-test", str(squares.data_dir), "--out", str(tmp_path / "old")) == 0
    new = _written(tmp_path / "new")
    assert sorted(new) == sorted([f"{c}.png" for c in squares.test_ids] + ["cases.csv"])
    assert new == _written(tmp_path / "old")


def test_the_old_spelling_is_hidden_from_help(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run_cli(monkeypatch, "--help") == 0
    commands = capsys.readouterr().out
    assert "│ export " in commands and "export-test" not in commands
    assert run_cli(monkeypatch, "export", "--help") == 0
    assert "│ test " in capsys.readouterr().out


@pytest.mark.parametrize(("command", "option", "allowed"), [
    (["score", "DATA", "--predictions", "P", "--name", "m"], ["--hd95", "max"], "'pooled', 'max-directed'"),
    (["score", "DATA", "--predictions", "P", "--name", "m"], ["--missing", "zero"], "'error', 'empty'"),
    (["cache", "DATA"], ["--mode", "stretch"], "'letterbox', 'resize'"),
    (["predict", "--run", "R", "--input", "I", "--out", "O"], ["--engine", "tensorrt"], "'pytorch', 'onnxruntime'"),
    (["profile", "--model", "unet"], ["--engine", "tensorrt"], "'pytorch', 'onnxruntime'"),
])
def test_a_choice_outside_the_set_is_a_usage_error_naming_the_set(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str], option: list[str],
        allowed: str) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run_cli(monkeypatch, *command, *option) == 2  # refused before DATA is read
    err = capsys.readouterr().err
    assert f"Invalid value for '{option[0]}'" in err and f"'{option[1]}' is not one of {allowed}" in err
