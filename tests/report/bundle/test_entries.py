"""What a leaderboard says of its entries beyond their test set: the NSD tolerance among the metric
conventions, test images whose pixels differ between labs, bundles of other busbench versions, two
labs' files of one name, and two registry files of one name."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from bundle_files import BundleRuns, raw, reseal
from cli_runner import run_cli


def _bundle(runs: BundleRuns, name: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert run_cli(monkeypatch, "bundle", str(runs.run(name)), "--out", str(out)) == 0
    return out


def _another_lab(bundle: dict[str, Any]) -> dict[str, Any]:
    """The same run scored a little better on its first image, as another lab's training could be."""
    cell = bundle["cells"][0]
    dice, iou = cell["columns"].index("dice"), cell["columns"].index("iou")
    row = cell["rows"][0]
    row[dice] = min(1.0, row[dice] + 0.01)
    row[iou] = row[dice] / (2 - row[dice])
    return bundle


@pytest.fixture
def labs(bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two labs' honest bundles, a.json (U-Net width 4) and b.json (width 8), for a test to edit b."""
    return (_bundle(bundle_runs, "a", tmp_path / "a.json", monkeypatch),
            _bundle(bundle_runs, "b", tmp_path / "b.json", monkeypatch))


def _warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr().out.splitlines()
    return [line[line.index("leaderboard: "):] for line in out
            if "leaderboard: " in line and "/board/" not in line and "leaderboard: merging" not in line]


def test_nsd_tolerance_pixels_and_versions_are_warned(labs: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    first, second = labs
    other = raw(second)
    cell = other["cells"][0]
    cell["config"]["eval"]["nsd_tolerance"] = 10.0
    pixels, case = cell["columns"].index("pixel_sha256"), cell["columns"].index("case")
    resampled = sorted({row[case] for row in cell["rows"]})[:3]
    for row in cell["rows"]:
        if row[case] in resampled:
            row[pixels] = "f" * 64  # this lab's copy of those three images: another encoding
    other["created_by"]["busbench"] = "0.0.1"
    reseal(other, second)
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(first), str(second), "--out", str(tmp_path / "board")) == 0
    warned = _warnings(capsys)
    images = len({row[case] for row in cell["rows"]})
    assert warned[0] == ("leaderboard: the NSD tolerance in px (eval.nsd_tolerance) differs: 2 (a.json: U-Net "
                         "(width 4)); 10 (b.json: U-Net (width 8)): figures it affects are not comparable across "
                         "these rows")
    assert warned[1].startswith(f"leaderboard: 3 of {images} test images of b.json: U-Net (width 8) differ in pixels "
                                "from a.json: U-Net (width 4)'s")
    assert warned[2].startswith("leaderboard: different busbench versions wrote these bundles: ")
    assert "0.0.1 (b.json: U-Net (width 8))" in warned[2] and len(warned) == 3


def test_two_labs_files_of_one_name_are_told_apart_by_folder(bundle_runs: BundleRuns, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _bundle(bundle_runs, "a", tmp_path / "lab1" / "out" / "results.json", monkeypatch)
    theirs = tmp_path / "lab2" / "out" / "results.json"
    theirs.parent.mkdir(parents=True)
    other = _another_lab(raw(mine))
    other["created_by"]["busbench"] = "0.0.1"
    reseal(other, theirs)
    assert run_cli(monkeypatch, "leaderboard", str(mine), str(theirs), "--out", str(tmp_path / "board")) == 0
    table = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "U-Net (width 4) (lab1/out/results)" in table and "U-Net (width 4) (lab2/out/results)" in table
    assert "(lab1/out/results.json: U-Net (width 4))" in table and "0.0.1 (lab2/out/results.json: U-Net (width 4))" \
        in table  # the version warning names the two files apart


def test_two_registry_files_of_one_name_are_refused(bundle_runs: BundleRuns, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    mine = _bundle(bundle_runs, "r", tmp_path / "mine.json", monkeypatch)
    other = _another_lab(raw(mine))
    other["cells"][0]["test_set"]["registry_sha256"] = "0" * 64  # a file of their own, named tiny-v1 too
    theirs = reseal(other, tmp_path / "theirs.json")
    shutil.rmtree(tmp_path / "board", ignore_errors=True)
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(mine), str(theirs), "--out", str(tmp_path / "board")) == 2
    error = capsys.readouterr().err
    assert "split from two different files named registry tiny-v1 (sha256 000000000000 vs " in error
    assert not (tmp_path / "board").exists()


def test_differing_training_is_warned_and_shown_in_the_setup(labs: tuple[Path, Path], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    first, second = labs
    other = raw(second)
    other["cells"][0]["config"]["input"]["size"] = 64  # trained at twice the size, for longer
    other["cells"][0]["config"]["train"]["epochs"] = 50
    other["cells"][0]["config"]["train"]["max_minutes"] = 5.0
    reseal(other, second)
    older = raw(first)
    del older["cells"][0]["config"]["train"]["max_minutes"]  # a bundle of a busbench before time budgets
    reseal(older, tmp_path / "older.json")
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(first), str(second), str(tmp_path / "older.json"), "--out",
                   str(tmp_path / "board")) == 0
    assert _warnings(capsys) == [
        "leaderboard: the input size in px (input.size) differs: 32 (a.json: U-Net (width 4), older.json: U-Net "
        "(width 4)); 64 (b.json: U-Net (width 8)): the rows compare trainings as well as models",
        "leaderboard: the epoch limit (train.epochs) differs: 1 (a.json: U-Net (width 4), older.json: U-Net "
        "(width 4)); 50 (b.json: U-Net (width 8)): the rows compare trainings as well as models",
        "leaderboard: the time budget in minutes (train.max_minutes) differs: none (a.json: U-Net (width 4)); 5 "
        "(b.json: U-Net (width 8)); not recorded (older.json: U-Net (width 4)): the rows compare trainings as well "
        "as models"]
    setup = (tmp_path / "board" / "setup.md").read_text()
    assert "| Input | Epochs |" in setup and "| 64 px | 50, at most 5 min |" in setup
