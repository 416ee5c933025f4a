"""`busbench leaderboard`: bundles of several machines as one table whose figures are the bundles'
per-image means, paired by case key; other test sets, bad bundles and one run twice refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from browser import CHROMIUM_FLAGS, chromium
from bundle_files import BundleRuns, raw, reseal, rows
from cli_runner import run_cli
from PIL import Image
from scipy import stats

from busbench import pipeline
from busbench.config import load_config
from busbench.evaluate.protocol import folds_note
from busbench.report.build import build_report

METRICS = ("dice", "iou", "hd95", "nsd")  # the main table's columns, scored on the lesion images
LESION = ("", "missed_lesion")  # the empty_case of an image whose ground truth holds a lesion
TINY = ["data.options.count=40", "data.options.size=40", "split.folds=2", "input.size=32", "train.epochs=1",
        "eval.tta=[hflip]"]  # as the bundle runs of conftest.py


def _bundle(runs: BundleRuns, name: str, folder: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> Path:
    out = folder / f"{name}.json"
    assert run_cli(monkeypatch, "bundle", str(runs.run(name)), "--out", str(out), *options) == 0
    return out


def _other_lab(bundle: dict[str, Any], seed: int) -> dict[str, Any]:
    """The bundle with scores another lab might have got: seeded, so every row type differs."""
    cell = bundle["cells"][0]
    rng = np.random.default_rng(seed)
    for row in cell["rows"]:
        for metric in METRICS:
            row[cell["columns"].index(metric)] = float(rng.uniform(0, 60 if metric == "hd95" else 1))
        dice = row[cell["columns"].index("dice")]
        row[cell["columns"].index("iou")] = dice / (2 - dice)  # the IoU of that Dice, as any lab's would be
    return bundle


@pytest.fixture
def two_labs(bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    a = _bundle(bundle_runs, "a", tmp_path, monkeypatch)
    b = _bundle(bundle_runs, "b", tmp_path, monkeypatch)
    return reseal(_other_lab(raw(a), 1), a), reseal(_other_lab(raw(b), 2), b)


def test_the_table_holds_each_entrys_per_image_means(two_labs: tuple[Path, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "leaderboard", *map(str, two_labs), "--out", str(tmp_path / "board")) == 0
    table = pd.read_csv(tmp_path / "board" / "leaderboard.csv")
    assert len(table) == 6  # 2 entries x (fold models, ensemble, ensemble + post-processing)
    for path, title in zip(two_labs, ["U-Net (width 4)", "U-Net (width 8)"]):
        mine = rows(raw(path)["cells"][0])
        for variant, scores in mine.groupby("variant"):
            row = table[(table["model"] == title) & (table["variant"] == variant)].iloc[0]
            lesion = scores[scores["empty_case"].fillna("").isin(LESION)]
            assert 0 < lesion["case"].nunique() < scores["case"].nunique()  # normal images left out
            per_fold = lesion.groupby("fold")[list(METRICS)].mean()
            for metric in METRICS:
                assert row[f"{metric}_lesion_mean"] == pytest.approx(per_fold[metric].mean(), abs=1e-6)
                if variant == "fold models":
                    assert row[f"{metric}_lesion_std"] == pytest.approx(per_fold[metric].std(ddof=1), abs=1e-6)
            assert row["dice_all_mean"] == pytest.approx(scores.groupby("fold")["dice"].mean().mean(), abs=1e-6)
            assert row["dice_lesion_ci_low"] <= row["dice_lesion_mean"] <= row["dice_lesion_ci_high"]
            assert row["test_images"] == scores["case"].nunique()
            assert row["bundle"] == path.name and row["precision"] in {"bf16", "fp32"}
            networks = 1 if variant == "fold models" else 2  # an ensemble runs both fold models, each on 2 views
            cost = raw(path)["cells"][0]["cost"]
            assert (row["networks"], row["forward_passes"]) == (networks, networks * 2)
            assert row["params_m"] == pytest.approx(networks * cost["params_m"], rel=1e-5)
    ensemble = table[table["variant"] == "ensemble"]
    assert ensemble["dice_lesion_mean"].is_monotonic_decreasing  # ranked by the ensemble's lesion Dice
    for suffix in (".md", ".tex"):
        assert "U-Net (width 8)" in (tmp_path / "board" / f"leaderboard{suffix}").read_text()


def _hand_test(first: Path, second: Path, variant: str) -> tuple[int, float, float]:
    """Units, median difference and Wilcoxon p of per-group mean Dice of the lesion images, paired by case
    key by hand."""
    a, b = (frame[(frame["variant"] == variant) & frame["empty_case"].fillna("").isin(LESION)]
            for frame in (rows(raw(p)["cells"][0]) for p in (first, second)))
    dice_a, dice_b = (frame.groupby("case")["dice"].mean() for frame in (a, b))
    groups = a.drop_duplicates("case").set_index("case")["group"]
    differences = (dice_a.groupby(groups).mean() - dice_b.reindex(dice_a.index).groupby(groups).mean()).to_numpy()
    return len(differences), float(np.median(differences)), float(stats.wilcoxon(differences).pvalue)


def test_paired_tests_pair_cases_by_key_not_by_position(two_labs: tuple[Path, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = two_labs
    assert run_cli(monkeypatch, "leaderboard", str(first), str(second), "--out", str(tmp_path / "board")) == 0
    compared = pd.read_csv(tmp_path / "board" / "comparisons.csv")
    assert sorted(compared["row"]) == ["ens. + PP", "ensemble", "fold models"]
    ensemble = compared[compared["row"] == "ensemble"].iloc[0]
    units, median, p = _hand_test(*((first, second) if ensemble["model_a"] == "U-Net (width 4)" else (second, first)),
                                  "ensemble")
    assert ensemble["units"] == units and ensemble["median_difference"] == pytest.approx(median, abs=1e-6)
    assert ensemble["p_value"] == pytest.approx(p, abs=1e-6)
    shuffled = raw(second)
    shuffled["cells"][0]["rows"].reverse()  # another machine may list its cases in another order
    reseal(shuffled, tmp_path / "shuffled.json")
    assert run_cli(monkeypatch, "leaderboard", str(first), str(tmp_path / "shuffled.json"), "--out",
                   str(tmp_path / "again")) == 0
    again = pd.read_csv(tmp_path / "again" / "comparisons.csv")
    assert again.drop(columns=["model_a", "model_b"]).equals(compared.drop(columns=["model_a", "model_b"]))


def test_a_bundle_of_another_test_set_is_refused_naming_the_cases(
        bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    a, c = (_bundle(bundle_runs, name, tmp_path, monkeypatch) for name in ("a", "c"))
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(a), str(c), "--out", str(tmp_path / "board")) == 2
    error = capsys.readouterr().err.strip()
    keys_a, keys_c = (set(rows(raw(p)["cells"][0])["case"]) for p in (a, c))
    differ = sorted(key[:12] for key in keys_a ^ keys_c)
    assert error.startswith("error: c.json: U-Net (width 4) and a.json: U-Net (width 4): different test sets")
    assert f"{len(differ)} cases differ ({', '.join(differ[:5])} and {len(differ) - 5} more)" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "board").exists()


def test_a_run_split_before_registries_joins_a_registry_leaderboard_only_matched(
        bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    r = _bundle(bundle_runs, "r", tmp_path, monkeypatch)
    a = _bundle(bundle_runs, "a", tmp_path, monkeypatch)
    assert run_cli(monkeypatch, "leaderboard", str(r), str(a), "--out", str(tmp_path / "refused")) == 2
    assert "(test set by content" in capsys.readouterr().err and not (tmp_path / "refused").exists()
    matched = _bundle(bundle_runs, "a", tmp_path / "matched", monkeypatch, "--registry", str(bundle_runs.registry))
    assert run_cli(monkeypatch, "leaderboard", str(r), str(matched), "--out", str(tmp_path / "board")) == 0
    setup = pd.read_csv(tmp_path / "board" / "setup.csv").set_index("Bundle")
    assert setup.loc["r.json", "Registry"] == "tiny-v1 (the split's registry ids)"
    assert setup.loc["a.json", "Registry"] == "tiny-v1 (by content when bundled: identical pixels)"


def test_bad_bundles_are_refused_one_line_each_and_nothing_is_written(
        two_labs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    first, second = two_labs
    (tmp_path / "cut.json").write_text(first.read_text()[:300])
    reseal(raw(first) | {"format": "busbench-bundle/2"}, tmp_path / "newer.json")
    shutil.copy(first, tmp_path / "copy.json")
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(first), str(tmp_path / "cut.json"), str(tmp_path / "newer.json"),
                   str(tmp_path / "copy.json"), str(second), "--out", str(tmp_path / "board")) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and not (tmp_path / "board").exists()
    assert "cut.json: damaged bundle (not valid JSON" in lines[0] and "`busbench bundle RUN --out cut.json`" in lines[0]
    assert "newer.json: bundle format 'busbench-bundle/2' is not 'busbench-bundle/1'" in lines[1]
    assert f"copy.json: the same run as {first}" in lines[2] and "give each run's bundle once" in lines[2]


def test_differing_metric_conventions_are_warned_one_line_each(
        two_labs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    first, second = two_labs
    other = raw(second)
    other["cells"][0]["conventions"]["hd95"] = "max-directed"
    reseal(other, second)
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(first), str(second), "--out", str(tmp_path / "board")) == 0
    warned = [line for line in capsys.readouterr().out.splitlines() if "leaderboard: the " in line]
    assert len(warned) == 1
    assert "leaderboard: the HD95 rule (eval.hd95) differs: " in warned[0]
    assert "pooled (a.json: U-Net (width 4))" in warned[0] and "max-directed (b.json: U-Net (width 8))" in warned[0]
    assert "WARNING: the HD95 rule (eval.hd95) differs" in (tmp_path / "board" / "leaderboard.md").read_text()
    assert "Warning:</b> the HD95 rule" in (tmp_path / "board" / "leaderboard.html").read_text()


def test_the_page_prints_the_comparisons_by_the_reports_number_rule(two_labs: tuple[Path, Path], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "leaderboard", *map(str, two_labs), "--out", str(tmp_path / "board")) == 0
    numbers = pd.read_csv(tmp_path / "board" / "comparisons.csv")
    page = (tmp_path / "board" / "leaderboard.html").read_text()
    for column in numbers.select_dtypes("number"):
        places = 4 if column.startswith("p_") else 3 if "dice" in column or "difference" in column else None
        if places is None:
            continue
        for value in numbers[column].dropna():
            shown = "< 0.0001" if places == 4 and value < 1e-4 else f"{value:.{places}f}"
            assert f"<td>{shown}</td>" in page, (column, value)  # 3 decimals for a Dice, 4 for a p-value


def test_the_page_renders_in_headless_chromium(two_labs: tuple[Path, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    browser = chromium()
    assert run_cli(monkeypatch, "leaderboard", *map(str, two_labs), "--out", str(tmp_path / "board")) == 0
    page = (tmp_path / "board" / "leaderboard.html").resolve().as_uri()
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    assert dom.count("<table>") >= 5 and "U-Net (width 4)" in dom and "U-Net (width 8)" in dom
    assert "Paired comparisons, ensemble" in dom and "Setup of each entry" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", page], capture_output=True,
                   timeout=120, check=True)
    assert np.asarray(Image.open(shot).convert("L")).std() > 10  # drawn, not a blank page


def test_the_same_case_ids_of_another_registry_test_set_are_refused(
        bundle_runs: BundleRuns, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    r = _bundle(bundle_runs, "r", tmp_path, monkeypatch)
    a = _bundle(bundle_runs, "a", tmp_path, monkeypatch, "--registry", str(bundle_runs.registry))
    other = raw(a)  # as if bundled against a later registry that kept the case names but changed the test set
    other["cells"][0]["test_set"]["registry_test_set_sha256"] = "f" * 64
    reseal(other, a)
    capsys.readouterr()
    assert run_cli(monkeypatch, "leaderboard", str(r), str(a), "--out", str(tmp_path / "board")) == 2
    error = capsys.readouterr().err
    assert "different test sets (registry tiny-v1 test set ffffffffffff vs registry tiny-v1 test set" in error
    assert "the same case keys" in error and not (tmp_path / "board").exists()


def test_a_models_seed_cells_are_one_entry_as_in_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle of a run with train.seeds: the seed cells of the model are one leaderboard entry, whose lesion
    Dice is the mean over both seeds' fold models and whose seed SD is the SD of the seeds' means, worked out
    from the bundle's rows by hand, and equal to the report's row of the same run."""
    cfg = load_config(None, ["name=s", f"output_dir={tmp_path / 'runs'}", *TINY, "train.seeds=[0, 1]",
                             "model.kwargs.base_channels=4"])
    pipeline.run_experiment(cfg)
    bundle = tmp_path / "s.json"
    assert run_cli(monkeypatch, "bundle", str(tmp_path / "runs" / "s"), "--out", str(bundle)) == 0
    assert len(raw(bundle)["cells"]) == 2  # a cell per seed in the bundle
    assert run_cli(monkeypatch, "leaderboard", str(bundle), "--out", str(tmp_path / "board")) == 0
    table = pd.read_csv(tmp_path / "board" / "leaderboard.csv").set_index("variant")
    assert len(table) == 3 and table["model"].nunique() == 1 and (table["seeds"] == 2).all()
    seed_means = []
    for cell in raw(bundle)["cells"]:
        scores = rows(cell)
        lesion = scores[(scores["variant"] == "fold models") & scores["empty_case"].fillna("").isin(LESION)]
        seed_means.append(lesion.groupby("fold")["dice"].mean().mean())
    fold_row = table.loc["fold models"]
    assert fold_row["dice_lesion_mean"] == pytest.approx(np.mean(seed_means), abs=1e-6)
    assert fold_row["dice_lesion_seed_sd"] == pytest.approx(np.std(seed_means, ddof=1), abs=1e-6)
    assert fold_row["networks"] == 1 and table.loc["ensemble", "networks"] == 2  # one seed's 2 fold models
    report = build_report(tmp_path / "runs", tmp_path / "report", qualitative=False)
    reported = next(iter(report.tables.values())).set_index("variant")
    for column in ("dice_lesion_mean", "dice_lesion_seed_sd", "dice_lesion_ci_low", "nsd_lesion_mean", "dice_all_mean"):
        assert table[column].to_numpy() == pytest.approx(reported.loc[table.index, column].to_numpy(), abs=1e-9)
    # the second seed's fold 2 cut out and resealed: the one entry states the note its rows imply
    edited = raw(bundle)
    cell = edited["cells"][1]
    variant, fold = cell["columns"].index("variant"), cell["columns"].index("fold")
    cell["rows"] = [row for row in cell["rows"] if not (row[variant] == "fold models" and row[fold] == 2)]
    assert run_cli(monkeypatch, "leaderboard", str(reseal(edited, tmp_path / "cut.json")), "--out",
                   str(tmp_path / "cut")) == 0
    assert set(pd.read_csv(tmp_path / "cut" / "leaderboard.csv")["protocol"]) == {folds_note(1, 2)}


def test_each_row_shows_the_throughput_measured_of_it(bundle_runs: BundleRuns, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`busbench profile --run` measures run a's fold model and 2-model ensemble; its bundle carries both, and
    the leaderboard shows each row its own figure, in its precision, unscaled."""
    from busbench.report.bundle import make
    from busbench.report.tables.complexity import find_profiles

    assert run_cli(monkeypatch, "profile", "--run", str(bundle_runs.run("a")), "--iterations", "1", "--seconds", "0",
                   "--device", "cpu", "--out", str(tmp_path / "prof")) == 0
    measured = pd.read_csv(tmp_path / "prof" / "cost_profile.csv").set_index("row")
    monkeypatch.setattr(make, "find_profiles", lambda _: find_profiles(tmp_path / "prof"))
    bundle = _bundle(bundle_runs, "a", tmp_path, monkeypatch)
    cost = raw(bundle)["cells"][0]["cost"]
    assert (cost["fps"], cost["fps_ensemble"], cost["ensemble_networks"]) == (
        pytest.approx(measured.loc["fold models", "fps"]), pytest.approx(measured.loc["ensemble", "fps"]), 2)
    assert run_cli(monkeypatch, "leaderboard", str(bundle), "--out", str(tmp_path / "board")) == 0
    board = pd.read_csv(tmp_path / "board" / "leaderboard.csv").set_index("variant")
    assert board.loc["fold models", "fps"] == pytest.approx(measured.loc["fold models", "fps"], rel=1e-4)
    for variant in ("ensemble", "ensemble + post-processing"):
        assert board.loc[variant, "fps"] == pytest.approx(measured.loc["ensemble", "fps"], rel=1e-4)
    assert set(board["fps_precision"]) == {measured.loc["ensemble", "precision"]}
