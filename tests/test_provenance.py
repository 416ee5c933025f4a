"""The protocol's provenance guards, end to end: an artefact made on one split is never used with
another (resume, skip, ensemble, post-processing, scoring), and weights or cross-dataset test
images that overlap a model's training images are refused or dropped.

Each reproduction is the one a careful user found: re-split after the data changed, then run again.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cli_runner import run_cli
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.data.access import held_out_test_ids
from busbench.data.export.held_out import load_split_data
from busbench.data.manifest import load_manifest
from busbench.data.split.split_file import plan_split, write_split
from busbench.errors import BusbenchError
from busbench.layout.folders import BEST, DONE
from busbench.report.collect import collect_runs
from busbench.train import checkpoint
from busbench.train.init_source import init_source_overlap


def tiny(tmp_path: Path, *extra: str, name: str = "tiny") -> ExperimentConfig:
    return load_config(None, [
        f"name={name}", f"output_dir={tmp_path / 'runs'}", "data.dataset=synthetic", "data.options.count=30",
        "data.options.size=40", "data.options.seed=1", "split.folds=2", "input.size=32",
        "model.kwargs.base_channels=4", "train.epochs=1", "train.batch_size=8", *extra,
    ])


def _cell(cfg: ExperimentConfig) -> Path:
    return cfg.output_dir / cfg.name / cfg.data.key() / cfg.model.key()


def _drop_two_images(cfg: ExperimentConfig) -> None:
    """The user edits the dataset: two images fewer in the manifest."""
    data = pipeline.prepare_data(cfg)
    lines = data.manifest.path.read_text().splitlines()
    data.manifest.path.write_text("\n".join(lines[:-2]) + "\n")


def test_a_fold_trained_before_a_forced_resplit_is_refused(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    pipeline.run_cell(cfg, folds=[1])
    _drop_two_images(cfg)
    with pytest.raises(BusbenchError, match="manifest changed since the split was made"):
        pipeline.run_cell(cfg)  # the frozen split is not silently replaced
    split_file = next((cfg.output_dir / "data" / cfg.data.key()).glob("split-*.json"))
    manifest = load_manifest(split_file.parent)
    write_split(plan_split(manifest, cfg.split.settings()), split_file, force=True)  # `busbench split --force`
    with pytest.raises(BusbenchError) as refused:
        pipeline.run_cell(cfg)
    message = str(refused.value)
    assert ("fold-1 (the dataset's manifest changed, the split file is another one, the held-out test set "
            "differs") in message
    assert f"`rm -r {_cell(cfg)}`" in message  # its only fold is stale: nothing in the cell can be kept
    assert not (_cell(cfg) / "fold-2").exists(), "nothing may be trained before the stale fold is dealt with"
    _run_the_command(message)
    assert pipeline.run_cell(cfg)


def _run_the_command(message: str) -> None:
    """Run the one shell command a refusal gives (between backquotes), as the user would."""
    command = re.search(r"`(rm -r [^`]+)`", message)
    assert command, message
    subprocess.run(shlex.split(command.group(1)), check=True)


def test_after_a_re_prepare_every_stale_result_of_a_cell_is_listed_in_one_refusal(tmp_path: Path) -> None:
    """The data folder rebuilt from edited data (runs/data/<key> deleted: prepared again). Issue 24: the stale
    results were refused one per run (fold 1, then fold 2, then the ensemble)."""
    root = tmp_path / "raw"
    cfg = tiny(tmp_path, f"data.root={root}")
    assert pipeline.run_cell(cfg)
    for path in sorted((root / "images").glob("*.png"))[:2]:  # the user removes two images and prepares again
        path.unlink()
    shutil.rmtree(cfg.output_dir / "data" / cfg.data.key())
    with pytest.raises(BusbenchError) as refused:
        pipeline.run_cell(cfg)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{_cell(cfg)}: holds results made on another split")
    stale = re.findall(r"(fold-\d|ensemble_metrics\.csv)[,:]? ", message.split(": holds")[1].split(". Remove")[0])
    assert set(stale) == {"fold-1", "fold-2", "ensemble_metrics.csv"}, message
    assert "the dataset's manifest changed" in message
    _run_the_command(message)
    assert not _cell(cfg).exists()
    assert pipeline.run_cell(cfg)  # the same command then runs the cell again on the new data


def test_stale_folds_are_listed_with_a_command_that_keeps_the_current_ones(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    assert pipeline.run_cell(cfg)
    cell = _cell(cfg)
    _tamper(cell / "fold-2" / "provenance.json")
    with pytest.raises(BusbenchError) as refused:
        pipeline.run_cell(cfg)
    message = str(refused.value)
    assert "fold-2 (the split file is another one)" in message and "fold-1" not in message
    _run_the_command(message)
    assert (cell / "fold-1" / "best.pt").is_file() and not (cell / "fold-2").exists()
    assert not (cell / "ensemble_metrics.csv").exists() and not (cell / "summary.csv").exists()
    assert pipeline.run_cell(cfg)


def _tamper(path: Path) -> None:
    """Give an artefact another split's checksums, as if it were made before a re-split."""
    if path.suffix == ".pt":
        saved = checkpoint.load(path)
        saved["provenance"]["split_sha256"] = "0" * 64
        torch.save(saved, path)
    elif path.suffix == ".json":
        record = json.loads(path.read_text())
        (record.get("provenance") or record)["split_sha256"] = "0" * 64
        path.write_text(json.dumps(record))
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table["split_sha256"] = "0" * 64
        table.to_csv(path, index=False)


@pytest.mark.parametrize(("artefact", "also_delete"), [
    ("fold-1/provenance.json", []),
    ("fold-1/done.json", []),
    ("fold-1/last.pt", ["fold-1/done.json", "fold-1/test_metrics.csv"]),  # an interrupted fold: resume
    ("fold-1/best.pt", ["ensemble_metrics.csv"]),  # ensembling and post-processing load it
    ("fold-2/test_metrics.csv", []),  # scoring tables
    ("ensemble_metrics.csv", []),
])
def test_every_artefact_made_on_another_split_is_refused(tmp_path: Path, artefact: str,
                                                          also_delete: list[str]) -> None:
    cfg = tiny(tmp_path)
    assert pipeline.run_cell(cfg)
    cell = _cell(cfg)
    if artefact != "fold-1/provenance.json":
        provenance = cell / "fold-1" / "provenance.json"
        provenance.write_text(provenance.read_text())  # kept valid: the artefact's own record must catch it
    _tamper(cell / artefact)
    if artefact.endswith(BEST):  # its hash in done.json would refuse it first: record the new one
        done = cell / "fold-1" / DONE
        done.write_text(json.dumps({**json.loads(done.read_text()),
                                    "checkpoints": checkpoint.checkpoint_digests(cell / "fold-1")}))
    for name in also_delete:
        (cell / name).unlink()
    # the files the check before any work reads are listed with the cell's other stale results; the others are
    # caught where they are read
    listed = {"fold-1/provenance.json": "fold-1", "ensemble_metrics.csv": "ensemble_metrics.csv"}
    expected = rf"{listed[artefact]} \(the split file is another one\)" if artefact in listed else \
        rf"{artefact}: made on another split: the split file is another one"
    with pytest.raises(BusbenchError, match=expected):
        pipeline.run_cell(cfg)


def test_a_table_that_records_no_provenance_is_refused_naming_it(tmp_path: Path) -> None:
    """A fold's scores without their checksums (an older busbench, or columns deleted by hand) cannot be shown to
    come from the current split: refused where read, not taken on trust."""
    cfg = tiny(tmp_path)
    assert pipeline.run_cell(cfg)
    table = _cell(cfg) / "fold-2" / "test_metrics.csv"
    frame = pd.read_csv(table)
    frame.drop(columns=["manifest_sha256", "split_sha256", "test_set_sha256", "train_ids_sha256"]).to_csv(
        table, index=False)
    with pytest.raises(BusbenchError, match=rf"^{table}: records no provenance .*cannot be shown to belong to the "
                                            rf"current split; Delete {table.parent} to train fold 2 again"):
        pipeline.run_cell(cfg)


def test_runtime_settings_and_a_copied_folder_do_not_block_a_resume(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    pipeline.run_cell(cfg, folds=[1])
    copy = tmp_path / "copy"
    shutil.copytree(cfg.output_dir, copy)
    moved = tiny(tmp_path, f"output_dir={copy}", "train.threads=1", "train.device=cpu")
    assert pipeline.run_cell(moved)  # the copied run resumes and finishes


def test_a_cell_with_no_fold_started_can_be_reconfigured(tmp_path: Path) -> None:
    cfg = tiny(tmp_path)
    _cell(cfg).mkdir(parents=True)
    (_cell(cfg) / "config.yaml").write_text(tiny(tmp_path, "optimizer.lr=0.5").to_yaml())
    pipeline.run_cell(cfg, folds=[1])
    assert "lr: 0.001" in (_cell(cfg) / "config.yaml").read_text()


def _pixels(manifest_dir: Path) -> dict[str, bytes]:
    """Each case's decoded pixels, read with PIL straight from the raw files (not busbench's hashes)."""
    manifest = load_manifest(manifest_dir)
    return {row["case_id"]: np.asarray(Image.open(manifest.root / row["image_path"]).convert("L")).tobytes()
            for _, row in manifest.frame.iterrows()}


SOURCE = ("data.options.count=60", "data.options.seed=3")
TARGET = "{dataset: synthetic, options: {count: 80, size: 40, seed: 3}}"


def test_init_from_weights_trained_on_test_images_are_refused(tmp_path: Path) -> None:
    source = tiny(tmp_path, *SOURCE, name="source")
    pipeline.run_cell(source, folds=[1])
    weights = _cell(source) / "fold-1" / "best.pt"
    target = tiny(tmp_path, "data.options.count=80", "data.options.seed=3", f"model.init_from={weights}",
                  name="target")
    data = pipeline.prepare_data(target)
    source_data = pipeline.prepare_data(source)
    train_ids = checkpoint.load(weights)["training_images"]["case_ids"]
    source_pixels, target_pixels = _pixels(source_data.manifest.path.parent), _pixels(data.manifest.path.parent)
    trained = {source_pixels[c] for c in train_ids}
    identical = {c for c in data.test_ids() if target_pixels[c] in trained}
    assert identical, "the two synthetic datasets share images (the reproduction needs some)"
    seen = init_source_overlap(weights, data.manifest, data.test_ids(), target.split.settings().duplicates)
    assert identical <= seen
    with pytest.raises(BusbenchError, match=rf"its training images include {len(seen)} of the test images"):
        pipeline.run_cell(target, folds=[1])
    allowed = tiny(tmp_path, "data.options.count=80", "data.options.seed=3", f"model.init_from={weights}",
                   "model.init_from_test_overlap=allow", name="target")
    assert pipeline.run_cell(allowed)
    assert "OVERRIDE: model.init_from weights" in (_cell(allowed) / "summary.md").read_text()
    assert "OVERRIDE" in pd.read_csv(_cell(allowed) / "summary.csv")["notes"].iloc[0]


def test_init_from_a_checkpoint_without_a_record_is_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.pt"
    torch.save({"model": {}}, bare)
    cfg = tiny(tmp_path, f"model.init_from={bare}")
    with pytest.raises(BusbenchError, match="records no training images.*init_from_test_overlap=allow"):
        pipeline.run_cell(cfg, folds=[1])


@pytest.mark.parametrize("handling", ["drop", "keep"])
def test_cross_dataset_test_images_seen_in_training_are_dropped_and_counted(tmp_path: Path, handling: str) -> None:
    cfg = tiny(tmp_path, *SOURCE, f"eval.cross_datasets=[{TARGET}]", f"eval.cross_dataset_overlap={handling}")
    assert pipeline.run_cell(cfg)
    data = pipeline.prepare_data(cfg)
    target = pipeline.prepare_data(cfg.model_copy(update={"data": cfg.eval.cross_datasets[0]}))
    source_pixels, target_pixels = _pixels(data.manifest.path.parent), _pixels(target.manifest.path.parent)
    development = data.development
    overlap = pd.read_csv(_cell(cfg) / "cross_dataset_overlap.csv", keep_default_na=False)
    cross = pd.read_csv(_cell(cfg) / "cross_dataset_metrics.csv", dtype={"case_id": str})
    total_seen = 0
    for fold in (1, 2):
        # the validation images chose best.pt, so they count as seen too
        trained = {source_pixels[c] for c in development.train_ids(fold) + development.val_ids(fold)}
        identical = {c for c in target.test_ids() if target_pixels[c] in trained}
        row = overlap[overlap["fold"] == fold].iloc[0]
        seen = set(row["case_ids"].split())
        assert identical <= seen and row["seen_in_training"] == len(seen)
        scored = set(cross.loc[cross["fold"] == fold, "case_id"])
        if handling == "drop":
            assert scored == set(target.test_ids()) - seen
        else:
            assert scored == set(target.test_ids())
            assert set(cross.loc[(cross["fold"] == fold) & cross["seen_in_training"], "case_id"]) == seen
        total_seen += len(seen)
    assert total_seen > 0
    assert ("OVERRIDE" in (_cell(cfg) / "summary.md").read_text()) == (handling == "keep")


def test_cross_dataset_scores_of_models_trained_on_other_cases_are_refused(tmp_path: Path) -> None:
    cfg = tiny(tmp_path, *SOURCE, f"eval.cross_datasets=[{TARGET}]")
    assert pipeline.run_cell(cfg)
    path = _cell(cfg) / "cross_dataset_metrics.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[table["fold"] == "2", "train_ids_sha256"] = "0" * 64
    table.to_csv(path, index=False)
    with pytest.raises(BusbenchError, match=r"cross_dataset_metrics.csv \(made by fold models trained on other "
                                            r"cases than the current split's \(fold 2\)\)"):
        pipeline.run_cell(cfg)


def _edit_keeping_size_and_time(mask: Path) -> None:
    """The issue's edit: another mask (the lesion erased) of the same byte size, its modification time put back."""
    original, stat = mask.read_bytes(), mask.stat()
    blank = np.zeros_like(np.asarray(Image.open(mask)))
    encoded = io.BytesIO()
    Image.fromarray(blank).save(encoded, format="PNG")
    padding = PngInfo()
    padding.add_text("pad", "x" * (len(original) - len(encoded.getvalue()) - 16))  # a tEXt chunk: 12 + 4 bytes more
    Image.fromarray(blank).save(mask, format="PNG", pnginfo=padding)
    os.utime(mask, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert mask.stat().st_size == len(original) and mask.stat().st_mtime_ns == stat.st_mtime_ns
    assert not np.asarray(Image.open(mask)).any()


def test_a_test_mask_edited_with_its_size_and_time_kept_is_refused_by_run_score_and_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: fold 1 was scored on 7,492 lesion pixels of an image, fold 2 on 16, and report took both."""
    cfg = tiny(tmp_path)
    assert pipeline.run_cell(cfg)
    data = pipeline.prepare_data(cfg)
    rows = data.manifest.frame.set_index("case_id", drop=False)
    case = next(c for c in data.test_ids() if rows.loc[c, "lesion_area_fraction"] > 0)
    mask = data.manifest.mask_files(rows.loc[case])[0]
    _edit_keeping_size_and_time(mask)
    manifest = load_manifest(data.manifest.path)  # the cheap check (size and time) of every file passes
    edited = rf"1 dataset file .* changed since `busbench prepare` read them \(held-out test files, compared by " \
             rf"content\): {mask.relative_to(manifest.root).as_posix()} \(edited\)\. Restore them, or prepare again"
    for step in (lambda: held_out_test_ids(data.split, manifest),  # what scoring reads
                 lambda: pipeline.run_cell(cfg),
                 lambda: load_split_data(data.manifest.path.parent),  # `busbench score` and `export test`
                 lambda: collect_runs(cfg.output_dir)):
        with pytest.raises(BusbenchError, match=edited) as refused:
            step()
        assert "\n" not in str(refused.value)
    prepare = re.search(r"`(busbench prepare [^`]+)`", str(refused.value))
    assert prepare
    assert run_cli(monkeypatch, *shlex.split(prepare.group(1))[1:]) == 0  # the fix it names
    with pytest.raises(BusbenchError, match=r"fold-1/test_metrics.csv: scored on an earlier preparation of the "
                                            r"data .* so its scores are stale; run `busbench run`"):
        collect_runs(cfg.output_dir)
