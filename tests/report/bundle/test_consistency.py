"""A bundle edited by hand, its checksum made again, is still refused where its contents contradict
themselves: a score changed under the cell's identity, an IoU its Dice does not give, a case scored
twice or not at all by one row type."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bundle_files import BundleRuns, raw, reseal
from cli_runner import run_cli

from busbench.report.bundle.record import canonical_sha256

Edit = Callable[[dict[str, Any]], None]


def _column(cell: dict[str, Any], name: str) -> int:
    index: int = cell["columns"].index(name)
    return index


def _raise_dice(cell: dict[str, Any]) -> None:
    for row in cell["rows"]:
        row[_column(cell, "dice")] = min(1.0, row[_column(cell, "dice")] + 0.5)


def _copy_the_best_ensemble_row(cell: dict[str, Any]) -> None:
    ensemble = [row for row in cell["rows"] if row[_column(cell, "variant")] == "ensemble"]
    cell["rows"] += [max(ensemble, key=lambda row: row[_column(cell, "dice")])] * 5


def _drop_a_normal_case_from_fold_1(cell: dict[str, Any]) -> None:
    variant, fold, label = (_column(cell, name) for name in ("variant", "fold", "label"))
    cut = next(i for i, row in enumerate(cell["rows"])
               if row[variant] == "fold models" and row[fold] == 1 and row[label] == "normal")
    del cell["rows"][cut]


@pytest.mark.parametrize(("edit", "identities_remade", "message"), [
    (_raise_dice, False, "its identity is not that of its config, environment and metrics"),
    (_raise_dice, True, "with an IoU that is not Dice / (2 - Dice)"),
    (_copy_the_best_ensemble_row, True, "ensemble scores "),
    (_drop_a_normal_case_from_fold_1, True, "fold model 1 scores "),
])
def test_an_edited_and_resealed_bundle_is_refused(bundle_runs: BundleRuns, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                  edit: Edit, identities_remade: bool, message: str) -> None:
    honest = tmp_path / "honest.json"
    assert run_cli(monkeypatch, "bundle", str(bundle_runs.run("a")), "--out", str(honest)) == 0
    bundle = raw(honest)
    edit(bundle["cells"][0])
    edited = tmp_path / "edited.json"
    if identities_remade:
        reseal(bundle, edited)
    else:  # only the checksum made again, as a careless edit would
        bundle["cells_sha256"] = canonical_sha256(bundle["cells"])
        edited.write_text(json.dumps(bundle))
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(honest), str(edited), "--out", str(tmp_path / "board")) == 2
    error = capsys.readouterr().err
    assert f"{edited}: a bundle that does not hold together (cell " in error and message in error
    assert "edited by hand?" in error and not (tmp_path / "board").exists()
