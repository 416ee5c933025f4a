"""The typed records of a run folder: done.json and environment.json read back as written, those of
older versions still read, and a damaged one is one line naming the file and the fix."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from busbench.errors import BusbenchError
from busbench.layout.folders import DONE, ENVIRONMENT_JSON
from busbench.records import (
    FoldDone,
    RunEnvironment,
    read_done,
    read_environment,
    update_environment,
    write_done,
    write_environment,
)

FIX = "delete it and run the same command again"
DONE_FIELDS = {"fold": 2, "best_epoch": 7, "best_score": 0.81, "select_metric": "val_dice", "epochs_run": 9,
               "stopped_early": True, "train_seconds": 12.5, "test_seconds": 1.5, "test_images": 31}


def test_done_reads_back_as_written(tmp_path: Path) -> None:
    done = FoldDone(**DONE_FIELDS, checkpoints={"best.pt": "ab" * 32}, provenance={"split_sha256": "cd" * 32})
    write_done(done, tmp_path)
    assert read_done(tmp_path, FIX) == done
    assert json.loads((tmp_path / DONE).read_text())["test_images"] == 31  # the file keeps its field names


def test_a_done_record_of_an_older_version_reads_without_hashes_or_provenance(tmp_path: Path) -> None:
    (tmp_path / DONE).write_text(json.dumps(DONE_FIELDS))
    done = read_done(tmp_path, FIX)
    assert done.checkpoints is None and done.provenance is None and done.test_images == 31


@pytest.mark.parametrize(("content", "said"), [
    ('{"fold": 1, "best_ep', "damaged (not valid JSON"),
    (json.dumps({**DONE_FIELDS, "test_images": "many"}), "damaged (test_images: Input should be a valid integer"),
    (json.dumps({k: v for k, v in DONE_FIELDS.items() if k != "best_epoch"}), "damaged (best_epoch: Field required)"),
    (json.dumps({**DONE_FIELDS, "checkpoints": ["best.pt"]}), "damaged (checkpoints: Input should be a valid "
                                                              "dictionary"),
])
def test_a_damaged_done_record_names_the_file_and_the_fix(tmp_path: Path, content: str, said: str) -> None:
    (tmp_path / DONE).write_text(content)
    with pytest.raises(BusbenchError) as error:
        read_done(tmp_path, FIX)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / DONE}: {said}") and message.endswith(FIX) and "\n" not in message


def test_environment_keeps_the_fields_its_writer_gave(tmp_path: Path) -> None:
    record = RunEnvironment.model_validate({"busbench": "0.1.0", "git_commit": None, "torch_threads": 4,
                                            "libraries": {"torch": "2.13.0", "monai": None},
                                            "split_file": "split-a.json", "test_set_sha256": "ef" * 32})
    write_environment(record, tmp_path)
    written = json.loads((tmp_path / ENVIRONMENT_JSON).read_text())
    assert written["git_commit"] is None and "device" not in written and "model_origin" not in written
    assert read_environment(tmp_path) == record


def test_an_absent_environment_reads_as_unrecorded_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    assert read_environment(tmp_path) == RunEnvironment() and RunEnvironment().test_set_sha256 is None
    (tmp_path / ENVIRONMENT_JSON).write_text(json.dumps({"split_file": ["a", "b"]}))
    with pytest.raises(BusbenchError, match=f"^{tmp_path / ENVIRONMENT_JSON}: damaged \\(split_file: Input should "
                                            "be a valid string\\); run `busbench run`"):
        read_environment(tmp_path)


STARTED = {"busbench": "0.1.0", "git_commit": "a" * 40, "cuda": "NVIDIA A100-SXM4-40GB", "device": "cuda",
           "precision": "bf16", "libraries": {"torch": "2.13.0", "numpy": "2.4.6"}, "split_file": "split-a.json",
           "data_folder": "/old/data", "test_set_sha256": "ef" * 32}


def _fold_started(cell: Path) -> None:
    (cell / "fold-1").mkdir()
    (cell / "fold-1" / "log.csv").write_text("epoch\n1\n")


def test_a_later_invocation_keeps_what_the_cell_started_with_and_says_what_differs(tmp_path: Path) -> None:
    """A resume on a V100 at a later commit (the SLURM requeue of a mixed cluster): environment.json keeps the
    A100, bf16 and the first commit, takes the data's new location and the field the first lacked, and the
    differences come back for the warning."""
    assert update_environment(RunEnvironment.model_validate(STARTED), tmp_path) == {}
    _fold_started(tmp_path)
    later = {**STARTED, "git_commit": "b" * 40, "cuda": "Tesla V100-SXM2-16GB", "precision": "fp16",
             "libraries": {"torch": "2.13.0", "numpy": "2.5.0"}, "data_folder": "/new/data", "white_level": 255,
             "model_origin": "busbench.models.unext"}
    differs = update_environment(RunEnvironment.model_validate(later), tmp_path)
    assert differs == {"git_commit": ("a" * 40, "b" * 40), "cuda": ("NVIDIA A100-SXM4-40GB", "Tesla V100-SXM2-16GB"),
                       "numpy": ("2.4.6", "2.5.0")}  # not the precision: each fold says and records its own
    kept = read_environment(tmp_path)
    assert (kept.git_commit, kept.cuda, kept.precision, kept.libraries) == (
        "a" * 40, "NVIDIA A100-SXM4-40GB", "bf16", {"torch": "2.13.0", "numpy": "2.4.6"})
    assert kept.data_folder == "/new/data" and kept.model_origin == "busbench.models.unext"


def test_the_data_fields_are_always_the_current_data(tmp_path: Path) -> None:
    """Stale folds removed as busbench advises and the cell run again on a new split (a kept fold's data is the
    same): its artefacts were checked against the new data, so environment.json must name it, or the report
    would table the cell by the old test set."""
    update_environment(RunEnvironment.model_validate(STARTED), tmp_path)
    _fold_started(tmp_path)
    resplit = {**STARTED, "split_file": "split-b.json", "split_sha256": "12" * 32, "test_set_sha256": "34" * 32,
               "manifest_sha256": "56" * 32, "white_level": 4095}
    assert update_environment(RunEnvironment.model_validate(resplit), tmp_path) == {}
    kept = read_environment(tmp_path)
    assert (kept.split_file, kept.split_sha256, kept.test_set_sha256, kept.manifest_sha256, kept.white_level) == (
        "split-b.json", "12" * 32, "34" * 32, "56" * 32, 4095)


def test_an_unchanged_environment_is_not_rewritten(tmp_path: Path) -> None:
    update_environment(RunEnvironment.model_validate(STARTED), tmp_path)
    _fold_started(tmp_path)
    path = tmp_path / ENVIRONMENT_JSON
    os.utime(path, (1, 1))
    assert update_environment(RunEnvironment.model_validate(STARTED), tmp_path) == {}
    assert path.stat().st_mtime == 1  # a finished cell's record, read into a bundle's identity, stays as it was


def test_a_damaged_environment_is_replaced_as_its_error_advises(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """read_environment's fix says "run again to rewrite it": running again must then rewrite it."""
    (tmp_path / ENVIRONMENT_JSON).write_text('{"split_file": ["a", "b"]')
    _fold_started(tmp_path)
    with caplog.at_level(logging.WARNING, logger="busbench"):
        assert update_environment(RunEnvironment.model_validate(STARTED), tmp_path) == {}
    assert read_environment(tmp_path).git_commit == "a" * 40
    assert f"{tmp_path / ENVIRONMENT_JSON}: damaged" in caplog.text and "rewriting it" in caplog.text


def test_an_older_record_is_not_filled_in_with_another_machine(tmp_path: Path) -> None:
    """A V100 cell recorded before busbench stored the precision and processor, finished later on a CPU: the
    record keeps what it knew of the V100 and takes nothing of the CPU's (the report then says "not recorded")."""
    (tmp_path / ENVIRONMENT_JSON).write_text(json.dumps({"cuda": "Tesla V100", "device": "cuda"}))
    _fold_started(tmp_path)
    now = {"cuda": None, "device": "cpu", "precision": "fp32", "processor": "AMD EPYC", "torch_threads": 16,
           "model_origin": "busbench.models.unext", "split_file": "split-a.json"}
    assert update_environment(RunEnvironment.model_validate(now), tmp_path) == {"cuda": ("Tesla V100", None),
                                                                                "device": ("cuda", "cpu")}
    kept = read_environment(tmp_path)
    assert (kept.cuda, kept.device, kept.precision, kept.processor, kept.torch_threads) == (
        "Tesla V100", "cuda", None, None, None)
    assert kept.model_origin == "busbench.models.unext" and kept.split_file == "split-a.json"


def test_a_cell_whose_folds_were_all_deleted_starts_its_record_again(tmp_path: Path) -> None:
    update_environment(RunEnvironment.model_validate(STARTED), tmp_path)
    retrained = {**STARTED, "git_commit": "c" * 40, "cuda": "NVIDIA H100"}
    assert update_environment(RunEnvironment.model_validate(retrained), tmp_path) == {}  # no fold folder: a new start
    assert read_environment(tmp_path).git_commit == "c" * 40
