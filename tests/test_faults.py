"""Faults met while running (issue 18, section 2): damaged or missing run files, a full disk, a
read-only output folder. Each is one line naming the file and the fix, leaves no half-written
file, and the same command resumes once it is fixed."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import run_cli

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.layout import atomic, locks
from busbench.train import checkpoint

TINY = ["name=tiny", "data.dataset=synthetic", "data.options.count=30", "data.options.size=40",
        "data.options.seed=1", "split.folds=2", "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1",
        "train.batch_size=8", "eval.postprocess=false"]


def tiny(tmp_path: Path) -> ExperimentConfig:
    return load_config(None, [*TINY, f"output_dir={tmp_path}"])


def _fold_dir(cfg: ExperimentConfig, fold: int) -> Path:
    return cfg.output_dir / cfg.name / cfg.data.key() / cfg.model.key() / f"fold-{fold}"


def _one_line(error: pytest.ExceptionInfo[BusbenchError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def _no_temporary_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]


def test_damaged_fold_files_are_one_line_and_resume_once_removed(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    pipeline.run_cell(cfg, folds=[1])
    fold = _fold_dir(cfg, 1)
    done = (fold / "done.json").read_text()

    (fold / "done.json").write_text(done[: len(done) // 2])  # truncated
    with pytest.raises(BusbenchError, match=r"done\.json: damaged .*delete it and run the same command") as error:
        pipeline.run_cell(cfg, folds=[1])
    assert str(fold / "done.json") in _one_line(error)
    (fold / "done.json").unlink()
    pipeline.run_cell(cfg, folds=[1])  # scored again from best.pt, without training
    assert (fold / "done.json").is_file()

    (fold / "best.pt").rename(fold / "best.pt.saved")
    with pytest.raises(BusbenchError, match=r"best\.pt: missing, though .*done\.json records it"):
        pipeline.run_cell(cfg, folds=[1])
    recorded = (fold / "done.json").read_text()
    older = {k: v for k, v in json.loads(recorded).items() if k != "checkpoints"}  # a record without hashes
    (fold / "done.json").write_text(json.dumps(older))
    with pytest.raises(BusbenchError, match=r"best\.pt: missing from finished fold 1; restore it from a copy"):
        pipeline.run_cell(cfg, folds=[1])
    (fold / "done.json").write_text(recorded)
    (fold / "best.pt.saved").rename(fold / "best.pt")

    (fold / "done.json").unlink()
    (fold / "last.pt").write_bytes((fold / "last.pt").read_bytes()[:300])  # truncated
    with pytest.raises(BusbenchError, match=r"last\.pt: not a readable .*delete it to restart fold 1 from") as error:
        pipeline.run_cell(cfg, folds=[1])
    _one_line(error)
    (fold / "last.pt").unlink()
    pipeline.run_cell(cfg, folds=[1])
    assert (fold / "done.json").is_file()


def test_a_truncated_best_checkpoint_is_named_when_the_cell_is_finished(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    pipeline.run_cell(cfg, folds=[1])
    best = _fold_dir(cfg, 1) / "best.pt"
    best.write_bytes(best.read_bytes()[:200])
    with pytest.raises(BusbenchError, match=r"best\.pt: ") as error:  # done.json's hash of it is checked first
        pipeline.run_cell(cfg, folds=[2])
    _one_line(error)
    with pytest.raises(BusbenchError, match=r"best\.pt: not a readable checkpoint \(truncated, damaged") as error:
        checkpoint.load(best)  # what finishing the cell and `predict` read it with
    assert f"delete the folder {best.parent}" in _one_line(error)


def _disk_full_torch_save(payload: object, path: Path) -> None:
    Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
    raise RuntimeError("[enforce fail at inline_container.cc:659] . unexpected pos 3200 vs 3094")


def test_a_full_disk_while_saving_a_checkpoint_is_one_line_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(checkpoint.torch, "save", _disk_full_torch_save)
        with pytest.raises(BusbenchError, match=r"best\.pt: the disk is full; free space on .*run the same command"):
            pipeline.run_cell(cfg, folds=[1])
    _no_temporary_files(tmp_path)
    assert not (_fold_dir(cfg, 1) / "best.pt").exists()
    pipeline.run_cell(cfg, folds=[1])  # space freed: the same command trains the fold
    assert torch.load(_fold_dir(cfg, 1) / "best.pt", weights_only=False)["epoch"] == 1


def test_a_full_disk_or_a_read_only_folder_in_any_atomic_write_is_one_line(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "table.csv"
    for code, expected in ((errno.ENOSPC, "the disk is full"), (errno.EROFS, "cannot write to"),
                           (errno.EFBIG, "a file grew past")):
        def failing(self: Path, text: str, code: int = code) -> None:
            self.write_bytes(b"half")
            raise OSError(code, "simulated")

        with monkeypatch.context() as patch:
            patch.setattr(Path, "write_text", failing)
            with pytest.raises(BusbenchError, match=rf"table\.csv: {expected}") as error:
                atomic.write_text("a,b\n", target)
        _one_line(error)
        assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file


def test_a_checkpoint_past_the_file_size_limit_names_the_limit(tmp_path: Path) -> None:
    """torch.save meets `ulimit -f` (EFBIG) as the same "unexpected pos" RuntimeError as a full disk:
    the line names the limit too, since it cannot tell which."""
    limit = 50_000

    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    save = ("import sys, torch; from pathlib import Path; from busbench.train import checkpoint\n"
            "try: checkpoint.save_atomic({'w': torch.zeros(100_000)}, Path(sys.argv[1]))\n"
            "except Exception as exc: print(type(exc).__name__, exc)")
    done = subprocess.run([sys.executable, "-c", save, str(tmp_path / "last.pt")], capture_output=True, text=True,
                          check=True, preexec_fn=limited, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.stdout.startswith(f"BusbenchError {tmp_path / 'last.pt'}: the disk is full (or the file reached this "
                                  f"process's file size limit of {limit} bytes (ulimit -f): `ulimit -f unlimited` "
                                  "lifts it)"), done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_finished_run_reruns_in_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Simulated by making every write fail with EROFS (the tests run as root, which bypasses
    chmod): a rerun of a finished run must need no write at all."""
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    args = ["run", str(config), *[a for item in [*TINY, f"output_dir={tmp_path / 'out'}"] for a in ("--set", item)]]
    assert run_cli(monkeypatch, *args) == 0

    def read_only(path: Path, *args: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))  # as open() raises it, naming the file

    monkeypatch.setattr(atomic, "atomic_path", read_only)
    monkeypatch.setattr(locks, "FileLock", read_only)
    capsys.readouterr()
    assert run_cli(monkeypatch, *args) == 0
    assert "Held-out test set" in capsys.readouterr().out
    # a run that has something to write says which file and why, in one line
    assert run_cli(monkeypatch, *[a.replace("name=tiny", "name=other") for a in args]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "cannot write to" in error and "Traceback" not in error


def test_a_cache_zeroed_in_place_is_rebuilt_before_a_run_reads_it(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Issue 24: images.npy overwritten with zeros, same size and header, was trained on without a word."""
    cfg = tiny(tmp_path)
    images = pipeline.prepare_data(cfg).cache.path / "images.npy"
    original = np.load(images)
    header = images.stat().st_size - original.nbytes
    images.write_bytes(images.read_bytes()[:header] + bytes(original.nbytes))
    reread = pipeline.prepare_data(cfg).cache.images  # what training and scoring read
    np.testing.assert_array_equal(reread, original)
    assert f"{images.parent}: damaged (images.npy: its content differs from the checksum" in caplog.text
