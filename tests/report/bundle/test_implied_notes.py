"""A leaderboard states the notes a bundle's config and rows imply, even where the bundle, edited and
resealed, dropped them: a run with folds left untrained, a leaky split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bundle_files import BundleRuns, raw, reseal
from cli_runner import run_cli

from busbench.data.registry.record import load_registry
from busbench.evaluate.protocol import LEAKY_SPLIT_NOTE, folds_note
from busbench.report.bundle.implied_notes import implied_notes
from busbench.report.bundle.record import BundleCell


def _bundles(runs: BundleRuns, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    """Run a's bundle as it was written, and run b's read back as JSON to edit."""
    for name in ("a", "b"):
        assert run_cli(monkeypatch, "bundle", str(runs.run(name)), "--out", str(folder / f"{name}.json")) == 0
    return folder / "a.json", raw(folder / "b.json")


def _board(honest: Path, edited: Path, out: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> tuple[pd.Series, str]:
    """Each entry's protocol notes on the leaderboard (by bundle file), and the console's words."""
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(honest), str(edited), "--out", str(out)) == 0
    table = pd.read_csv(out / "leaderboard.csv", keep_default_na=False)
    return table.groupby("bundle")["protocol"].first(), " ".join(capsys.readouterr().out.split())


def test_honest_bundles_state_every_implied_note(bundle_runs: BundleRuns, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    honest, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    protocol, said = _board(honest, reseal(b, tmp_path / "b.json"), tmp_path / "board", monkeypatch, capsys)
    assert "does not state" not in said and "does not read" not in said
    assert set(protocol) == {""}  # the tiny runs follow the protocol


def test_a_fold_dropped_with_its_note_is_stated_from_the_rows(bundle_runs: BundleRuns, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Fold 2's rows cut out and the bundle resealed: it holds together (each row type scores every case),
    but its config's split has 2 folds, so the leaderboard marks it as the report marks a run of one fold."""
    honest, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    cell = b["cells"][0]
    variant, fold = cell["columns"].index("variant"), cell["columns"].index("fold")
    cell["rows"] = [row for row in cell["rows"] if not (row[variant] == "fold models" and row[fold] == 2)]
    assert not any(folds_note(1, 2) in note for note in cell["notes"])
    protocol, said = _board(honest, reseal(b, tmp_path / "b.json"), tmp_path / "board", monkeypatch, capsys)
    assert protocol["b.json"] == folds_note(1, 2) and protocol["a.json"] == ""
    assert f"b.json: U-Net (width 8): its bundle does not state '{folds_note(1, 2)}', which its config and rows " \
           "imply: the leaderboard states it" in said
    accuracy = (tmp_path / "board" / "leaderboard.md").read_text()
    assert f"{folds_note(1, 2)}" in accuracy


def test_a_leaky_split_without_its_note_is_stated_from_the_config(bundle_runs: BundleRuns, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    honest, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    b["cells"][0]["config"]["split"]["protocol"] = "image_level"  # as a leaky run's config says, its note dropped
    protocol, said = _board(honest, reseal(b, tmp_path / "b.json"), tmp_path / "board", monkeypatch, capsys)
    assert protocol["b.json"] == LEAKY_SPLIT_NOTE
    assert "b.json: U-Net (width 8): its bundle does not state 'LEAKY SPLIT: " in said


def test_a_config_this_busbench_cannot_read_keeps_the_bundles_notes(bundle_runs: BundleRuns, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    honest, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    b["cells"][0]["config"]["eval"]["a_later_setting"] = 1
    b["cells"][0]["notes"] = ["stated by its bundle"]
    protocol, said = _board(honest, reseal(b, tmp_path / "b.json"), tmp_path / "board", monkeypatch, capsys)
    assert protocol["b.json"] == "stated by its bundle"
    assert "b.json: U-Net (width 8): its config does not read in this busbench (1 setting), so its notes are " \
           "shown as its bundle states them" in said


@pytest.mark.parametrize("model", ["mylab.nets:build", "mylab_plugin"])
def test_another_labs_plugin_model_not_installed_here_is_read(bundle_runs: BundleRuns, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str], model: str) -> None:
    """The notes need the model's init_from settings, not its code: a plugin the leaderboard's machine lacks
    neither stops the leaderboard nor is called a config this busbench cannot read."""
    honest, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    b["cells"][0]["config"]["model"]["name"] = model
    b["cells"][0]["config"]["split"]["protocol"] = "image_level"
    protocol, said = _board(honest, reseal(b, tmp_path / "b.json"), tmp_path / "board", monkeypatch, capsys)
    assert protocol["b.json"] == LEAKY_SPLIT_NOTE and "does not read" not in said


@pytest.mark.parametrize(("split", "data", "folds"), [
    ({"folds": 3}, {}, 3),  # the config's own split
    ({"registry": "busi-v1"}, {}, load_registry("busi-v1")[0].folds),  # a shipped registry's
    ({"registry": "/elsewhere/my-registry.json"}, {}, None),  # a registry file the leaderboard does not have
    ({"folds": 3, "official": True}, {}, None),  # the dataset's own partition
    ({"folds": 3}, {"pool": [{"adapter": "busi"}, {"adapter": "busbra"}]}, None),  # a pool: its members' splits
])
def test_the_fold_count_is_taken_only_where_the_config_fixes_it(bundle_runs: BundleRuns, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                split: dict[str, Any], data: dict[str, Any],
                                                                folds: int | None) -> None:
    _, b = _bundles(bundle_runs, tmp_path, monkeypatch)
    cell = b["cells"][0]
    cell["config"]["split"] = {**{"folds": 5, "registry": None}, **split}
    cell["config"]["data"] = {**cell["config"]["data"], **data}
    read = BundleCell.model_validate(cell)
    notes, _ = implied_notes(read, read.frame())
    assert [n for n in notes if "folds trained" in n] == ([folds_note(2, folds)] if folds else [])
