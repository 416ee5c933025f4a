"""The `busbench` command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import command_words, run_cli


def test_prepare_split_cache_on_synthetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    assert run_cli(monkeypatch, "prepare", "synthetic", "--out", str(out), "-o", "count=30", "-o", "size=32") == 0
    assert (out / "manifest.csv").is_file() and (out / "raw" / "images").is_dir()
    assert run_cli(monkeypatch, "split", str(out), "--folds", "3", "--seed", "1") == 0
    printed = capsys.readouterr().out
    assert "fold 3" in printed and "test set sha256" in printed and "(created)" in printed
    (split_file,) = out.glob("split-test0.2-seed1-k3-*.json")
    document = json.loads(split_file.read_text())
    assert document["settings"]["seed"] == 1 and document["folds"] == 3
    assert run_cli(monkeypatch, "split", str(out), "--folds", "3", "--seed", "1") == 0
    assert "(unchanged)" in capsys.readouterr().out
    assert run_cli(monkeypatch, "cache", str(out / "manifest.csv"), "--size", "32") == 0
    assert "30 cases at 32px" in capsys.readouterr().out.replace("\n", "")
    assert list((out / "cache").glob("synthetic-32px-letterbox-c1-*/images.npy"))


def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "prepare", "busi", "--root", str(tmp_path / "nope"), "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "nope" in err and "Traceback" not in err
    assert run_cli(monkeypatch, "split", str(tmp_path / "missing")) == 2
    assert "busbench prepare" in capsys.readouterr().err
    assert run_cli(monkeypatch, "prepare", "folder", "--root", str(tmp_path), "--out", str(tmp_path / "o"),
                   "-o", "mask_suffix") == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_splits_coexist_and_a_changed_manifest_needs_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    run_cli(monkeypatch, "prepare", "synthetic", "--out", str(out), "-o", "count=30", "-o", "size=32")
    assert run_cli(monkeypatch, "split", str(out), "--folds", "3") == 0
    assert run_cli(monkeypatch, "split", str(out), "--folds", "2", "--seed", "7") == 0  # another split, beside it
    assert len(list(out.glob("split-*.json"))) == 2
    capsys.readouterr()
    manifest = out / "manifest.csv"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(lines[:-1]) + "\n")  # one image fewer
    searches = []
    monkeypatch.setattr("busbench.data.registry.planning.plan", lambda *a: searches.append(a))
    assert run_cli(monkeypatch, "split", str(out), "--folds", "3") == 2
    assert searches == []  # refused before the duplicate search
    monkeypatch.undo()
    err = " ".join(capsys.readouterr().err.split())
    assert "the manifest changed since the split was made" in err
    assert f"re-split with `busbench split {out} --test-size 0.2 --folds 3 --seed 42 --force`" in err
    assert run_cli(monkeypatch, "split", str(out), "--folds", "3", "--force") == 0
    assert "(replaced)" in capsys.readouterr().out


def test_split_help_is_not_cut(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run_cli(monkeypatch, "split", "--help") == 0
    assert "Split file (default: beside the manifest, named by its settings)" in capsys.readouterr().out


def test_datasets_lists_adapters(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "datasets") == 0
    printed = capsys.readouterr().out
    for name in ("busi", "busbra", "bus_uclm", "bus_uc", "udiat", "folder", "synthetic"):
        assert name in printed


def test_demo_runs_the_main_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    tiny = ["--set", "data.options.count=30", "--set", "data.options.size=40", "--set", "input.size=32",
            "--set", "train.epochs=1", "--set", "split.folds=2"]
    assert run_cli(monkeypatch, "demo", "--out", str(tmp_path / "demo"), *tiny) == 0
    printed = capsys.readouterr().out
    assert "Held-out test set, mean ± std over fold models" in printed and "Dice" in printed
    assert (tmp_path / "demo" / "demo" / "summary.md").is_file()
    assert list((tmp_path / "demo" / "data").glob("synthetic-*/split-*.json"))


def test_run_accepts_shipped_config_names_and_names_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "configs") == 0
    assert {"demo", "busi", "busbra", "grid"} <= set(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, "run", "demo", "--set", "train.epoch=3") == 2
    assert "train.epoch: unknown key" in capsys.readouterr().err
    assert run_cli(monkeypatch, "run", "no-such-config") == 2
    assert "shipped config" in capsys.readouterr().err


def test_module_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "busbench", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "prepare" in done.stdout


def test_jobs_prints_one_command_per_cell_and_fold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "grid.yaml"
    config.write_text(
        f"name: g\noutput_dir: {tmp_path / 'runs'}\n"
        "data: {dataset: synthetic, options: {count: 24, size: 40}}\nsplit: {folds: 2}\ninput: {size: 32}\n"
        "train: {epochs: 1, batch_size: 8}\n"
        "grid: {models: [{name: unet, kwargs: {base_channels: 4}}, {name: cmunext_s}]}\n"
    )
    assert run_cli(monkeypatch, "jobs", str(config), "--set", "train.seed=3") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(" --set train.seed=3 " in line for line in lines)
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["1", "2", "1", "2"]
    assert list((tmp_path / "runs" / "data").glob("synthetic-*/split-*.json"))  # data prepared once, up front
    words = shlex.split(lines[2])  # cmunext_s, fold 1
    assert words[:3] == [sys.executable, "-m", "busbench"] and Path(words[0]).is_absolute()
    bare_path = {"PATH": "/nonexistent", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    assert subprocess.run([*words[:3], "--help"], env=bare_path, capture_output=True, check=False).returncode == 0
    assert run_cli(monkeypatch, *words[3:]) == 0
    done = sorted(p.parent.relative_to(tmp_path / "runs" / "g") for p in (tmp_path / "runs" / "g").rglob("done.json"))
    assert [str(p).split("/", 1)[1] for p in done] == ["cmunext_s/fold-1"]
    assert run_cli(monkeypatch, "run", str(config), "--cell", "nope/unet") == 2
    assert "not in this experiment" in capsys.readouterr().err


def test_faults_in_arguments_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "run", "demo", "--set", "train.epochs=[1,2") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set 'train.epochs=[1,2': the value is not valid YAML") and "Traceback" not in err
    assert run_cli(monkeypatch, "prepare", "synthetic", "--out", str(tmp_path / "d")) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "cache", str(tmp_path / "d"), "--size", "100000") == 2
    err = capsys.readouterr().err
    assert "cache size 100000 px: must be 16..4096 px" in err and "Traceback" not in err
    assert run_cli(monkeypatch, "cache", str(tmp_path / "d"), "--size", "0") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("error: cache size 0 px: must be at least 16 px (input.size / --size), the smallest input")
    assert "larger inputs" not in err


def test_help_shows_flags_as_flags(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A flag takes no value: no `<bool>` beside --quiet, --overlays/--no-overlays or --help, in any
    command's help (typer 0.29's rich help shows one unless busbench.cli.app stops it)."""
    monkeypatch.setenv("COLUMNS", "200")
    for words in command_words():
        assert run_cli(monkeypatch, *words, "--help") == 0, words
        shown = capsys.readouterr().out
        assert "<bool>" not in shown and re.search(r"--help\s+Show this message", shown), (words, shown)
        if not words:
            assert re.search(r"--quiet\s+Print warnings", shown) and re.search(r"--log-file\s+<path>", shown)
        if words == ("predict",):
            assert re.search(r"--overlays\s+--no-overlays\s+Also write", shown)


def test_split_takes_its_set_items_with_or_without_the_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m"
    assert run_cli(monkeypatch, "prepare", "synthetic", "--out", str(out), "-o", "count=30", "-o", "size=32") == 0
    for item in ("near_duplicate_distance=8", "split.near_duplicate_distance=8"):
        assert run_cli(monkeypatch, "split", str(out), "--folds", "2", "--set", item) == 0
    assert len(list(out.glob("split-*.json"))) == 1  # one split: both spellings are one setting
    capsys.readouterr()
    assert run_cli(monkeypatch, "split", str(out), "--registry", "busi-v1", "--set", "split.folds=2") == 2
    assert "split.folds=2 would be ignored: split.registry busi-v1 fixes" in capsys.readouterr().err
