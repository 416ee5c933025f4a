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


def _drop_a_case_everywhere(cell: dict[str, Any]) -> None:
    case = cell["rows"][0][_column(cell, "case")]
    cell["rows"] = [row for row in cell["rows"] if row[_column(cell, "case")] != case]


@pytest.mark.parametrize(("edit", "identities_remade", "message"), [
    (_raise_dice, False, "its identity is not that of its config, environment and metrics"),
    (_raise_dice, True, "with an IoU that is not Dice / (2 - Dice)"),
    (_copy_the_best_ensemble_row, True, "ensemble scores "),
    (_drop_a_normal_case_from_fold_1, True, "fold model 1 scores "),
    (_drop_a_case_everywhere, True, "fold model 1 scores 7 rows for 8 test cases"),  # only the count tells
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


def test_a_run_identity_edited_alone_is_refused(bundle_runs: BundleRuns, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    honest = tmp_path / "honest.json"
    assert run_cli(monkeypatch, "bundle", str(bundle_runs.run("a")), "--out", str(honest)) == 0
    bundle = raw(honest)
    bundle["identity"] = "0" * 64  # outside the cells' checksum: nothing else to remake
    (tmp_path / "edited.json").write_text(json.dumps(bundle))
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(tmp_path / "edited.json"), "--out", str(tmp_path / "board")) == 2
    assert "the run's identity is not that of its cells" in capsys.readouterr().err


def test_test_images_of_identical_pixels_share_a_content_key_and_are_accepted(
        bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyed by content (no registry), two test images of one pixel hash (BUSI's malignant (145) and
    benign (433)) have one key: every row type then holds it twice, as busbench bundles it."""
    honest = tmp_path / "honest.json"
    assert run_cli(monkeypatch, "bundle", str(bundle_runs.run("a")), "--out", str(honest)) == 0
    bundle = raw(honest)
    cell = bundle["cells"][0]
    case, pixels = _column(cell, "case"), _column(cell, "pixel_sha256")
    first, second = sorted({row[case] for row in cell["rows"]})[:2]
    for row in cell["rows"]:
        if row[case] == second:
            row[case], row[pixels] = first, first
    reseal(bundle, tmp_path / "twins.json")
    assert run_cli(monkeypatch, "leaderboard", str(tmp_path / "twins.json"), "--out", str(tmp_path / "board")) == 0
