"""`data.prepared`: a run reads the folder made by `busbench prepare` and keeps its split and cache there."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from layouts import cases, make_pairs, save

from busbench.config import load_config
from busbench.data.prepare import prepare_dataset
from busbench.data.registry.build import build_registry
from busbench.data.registry.record import registry_bytes
from busbench.data.split import summary
from busbench.errors import BusbenchError
from busbench.pipeline import prepare_data

SETTINGS = ["data.dataset=synthetic", "split.folds=2", "input.size=32"]


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    folder = tmp_path / "work" / "syn"
    prepare_dataset("synthetic", tmp_path / "raw", folder, {"count": 30, "size": 40, "seed": 1})
    return folder


def test_run_reuses_the_split_and_cache_made_by_the_readme_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                   prepared: Path) -> None:
    assert run_cli(monkeypatch, "--quiet", "split", str(prepared), "--folds", "2") == 0
    assert run_cli(monkeypatch, "--quiet", "cache", str(prepared), "--size", "32") == 0
    split_file, = prepared.glob("split-*.json")
    cache_dir, = prepared.glob("cache/*px*")  # beside it: .locks
    before = split_file.stat().st_mtime_ns, (cache_dir / "images.npy").stat().st_mtime_ns
    cfg = load_config(None, [*SETTINGS, f"output_dir={tmp_path / 'runs'}", f"data.prepared={prepared}"])
    data = prepare_data(cfg)
    assert data.split_path == split_file and data.cache.path == cache_dir
    assert (split_file.stat().st_mtime_ns, (cache_dir / "images.npy").stat().st_mtime_ns) == before
    assert not (tmp_path / "runs" / "data").exists()


def test_without_it_run_keeps_its_own_copy_under_the_output_folder(tmp_path: Path) -> None:
    cfg = load_config(None, [*SETTINGS, f"output_dir={tmp_path / 'runs'}"])
    data = prepare_data(cfg)
    assert data.manifest.path == tmp_path / "runs" / "data" / cfg.data.key() / "manifest.csv"


def test_a_folder_without_manifest_or_of_another_dataset_is_refused(tmp_path: Path, prepared: Path) -> None:
    with pytest.raises(BusbenchError, match=r"data.prepared .*empty: no manifest here; make it with `busbench prepare"):
        prepare_data(load_config(None, [*SETTINGS, f"data.prepared={tmp_path / 'empty'}"]))
    with pytest.raises(BusbenchError, match="prepared from dataset 'synthetic', but data.dataset is 'busi'"):
        prepare_data(load_config(None, [*SETTINGS, "data.dataset=busi", f"data.prepared={prepared}"]))


def test_the_prepared_folder_is_part_of_the_dataset_key(prepared: Path) -> None:
    own = load_config(None, SETTINGS).data
    reused = load_config(None, [*SETTINGS, f"data.prepared={prepared}"]).data
    assert own.key() != reused.key() and reused.describe() == f"synthetic prepared in {prepared}"  # its options: in it


def test_a_wrong_data_folder_leaves_no_lock_and_no_empty_folder(tmp_path: Path) -> None:
    wrong = [f"data.root={tmp_path / 'nowhere'}", f"output_dir={tmp_path / 'runs'}"]
    cfg = load_config(None, ["data.dataset=busi", *wrong])
    with pytest.raises(BusbenchError, match=r"data\.root .*nowhere: no such folder"):
        prepare_data(cfg)
    assert list(tmp_path.iterdir()) == []  # neither runs/data/busi-<hash>/.locks/data.lock nor the folders above it


def test_the_key_is_the_folder_however_typed_and_a_shipped_root_is_not_needed(
        prepared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUSBENCH_DATA", raising=False)
    monkeypatch.chdir(prepared.parent.parent)
    relative = load_config(None, ["data.dataset=busi", "data.root=${BUSBENCH_DATA}/Dataset_BUSI_with_GT",
                                  "data.prepared=work/syn"]).data
    absolute = load_config(None, ["data.dataset=busi", f"data.prepared={prepared}"]).data
    assert relative.prepared == prepared and relative.root is None  # the root left behind: no variable needed
    assert relative.key() == absolute.key()
    other = load_config(None, ["data.dataset=busi", f"data.prepared={prepared.parent}"]).data
    assert other.key() != absolute.key()


def test_a_run_that_splits_anew_beside_a_users_split_names_it(prepared: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "--quiet", "split", str(prepared), "--folds", "3", "--seed", "7") == 0
    mine, = (p.name for p in prepared.glob("split-*.json"))
    capsys.readouterr()
    prepare_data(load_config(None, [*SETTINGS, f"output_dir={tmp_path / 'runs'}", f"data.prepared={prepared}"]))
    warned = [line for line in capsys.readouterr().out.splitlines() if "holds" in line]
    assert len(warned) == 1
    assert f"holds {mine}, but this run's split settings name split-test0.2-seed42-k2-" in warned[0]
    prepare_data(load_config(None, [*SETTINGS, f"output_dir={tmp_path / 'runs'}", f"data.prepared={prepared}"]))
    assert "holds" not in capsys.readouterr().out  # its own split, now there, is read without a word


def test_a_run_that_prepares_says_what_was_dropped_and_where_each_file_is_listed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_pairs(tmp_path / "mine", cases(8, seed=4))
    save(tmp_path / "mine" / "masks" / "orphan.png", np.zeros((40, 40), np.uint8))  # a mask without image
    (tmp_path / "mine" / "images" / "broken.png").write_bytes(b"not a png")
    cfg = load_config(None, ["data.dataset=folder", f"data.root={tmp_path / 'mine'}", "split.folds=2",
                             "input.size=32", f"output_dir={tmp_path / 'runs'}"])
    with caplog.at_level(logging.INFO, logger="busbench"):
        prepare_data(cfg)
    said = " ".join(caplog.text.split())
    problems = tmp_path / "runs" / "data" / cfg.data.key() / "prepare_problems.csv"
    assert "manifest: 8 images; 2 files dropped or fixed (1 dropped: mask without image; 1 dropped: unreadable " \
           f"image), each in {problems}" in said
    reasons = set(pd.read_csv(problems)["reason"])
    assert "mask without image: no image named orphan.* (masks pair as <image name>[_N]: set -o mask_suffix=... " \
           "where yours end otherwise)" in reasons


def test_a_run_on_a_registry_names_the_reviewed_duplicates_it_puts_apart(
        tmp_path: Path, prepared: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # `busbench run busi` splits by busi-v1 without `busbench split`: the run itself must say which pairs cross
    made = prepare_data(load_config(None, [*SETTINGS, f"output_dir={tmp_path / 'runs'}", f"data.prepared={prepared}"]))
    registry = tmp_path / "tiny-v1.json"
    registry.write_bytes(registry_bytes(build_registry(made.manifest, made.split, "tiny-v1", "test")))
    test_case = made.split.held_out()[0]
    development = next(case for case in made.split.cases if case.fold is not None)
    monkeypatch.setattr(summary, "reviewed_duplicates", lambda manifest: [(development.case_id, test_case)])
    cfg = load_config(None, ["data.dataset=synthetic", "input.size=32", f"output_dir={tmp_path / 'runs'}",
                             f"data.prepared={prepared}", f"split.registry={registry}"])
    with caplog.at_level(logging.INFO, logger="busbench"):
        prepare_data(cfg)
    assert (f"warning: registry tiny-v1 puts 1 pair of busbench's reviewed duplicates in two parts: "
            f"{development.case_id} (fold {development.fold}) / {test_case} (test)") in " ".join(caplog.text.split())
