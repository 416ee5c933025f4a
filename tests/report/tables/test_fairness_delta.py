"""`busbench delta`: both protocols run, and the leak counts match the generator's own record.

The synthetic generator's near-copies are a random earlier image made 3 grey levels brighter, so
the true leakage groups are known without the duplicate detector: images of one patient, joined
with every pair whose pixels differ by exactly that brightening (checked on the decoded PNGs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from PIL import Image

from busbench.config import load_config
from busbench.data.manifest import Manifest, load_manifest
from busbench.errors import BusbenchError
from busbench.report.tables.fairness_delta import fairness_delta, protocol_configs


def _true_groups(manifest: Manifest) -> dict[str, str]:
    """case id -> a representative of its true group (same patient, or a brightened copy)."""
    frame = manifest.frame
    pixels = {c: np.asarray(Image.open(manifest.root / p).convert("L"), dtype=np.int16)
              for c, p in zip(frame["case_id"], frame["image_path"])}
    parent = {c: c for c in pixels}

    def find(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    def copies(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool((np.clip(a + 3, 0, 255) == b).all())

    ids = list(pixels)
    patients = dict(zip(frame["case_id"], frame["patient_id"]))
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if patients[a] == patients[b] or copies(pixels[a], pixels[b]) or copies(pixels[b], pixels[a]):
                parent[find(a)] = find(b)
    return {c: find(c) for c in ids}


def _true_leaks(split: dict, group: dict[str, str], fold: int) -> set[str]:
    training = {group[c["case_id"]] for c in split["cases"] if c["set"] == "cv" and c["fold"] != fold}
    return {c["case_id"] for c in split["cases"] if c["set"] == "test" and group[c["case_id"]] in training}


def test_delta_runs_both_protocols_and_counts_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "delta.yaml"
    config.write_text(
        f"name: d\noutput_dir: {tmp_path / 'runs'}\n"
        "data: {dataset: synthetic, options: {count: 60, size: 128, near_duplicate_rate: 0.3}}\n"
        "split: {folds: 2}\ninput: {size: 32}\nmodel: {name: unet, kwargs: {base_channels: 4}}\n"
        "train: {epochs: 1, batch_size: 8}\neval: {postprocess: false}\n"
    )
    assert run_cli(monkeypatch, "delta", str(config), "--jobs") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert sum("--set split.protocol=image_level --set name=d-image-level" in line for line in lines) == 2
    assert sum("--set split.protocol=grouped --set name=d " in line for line in lines) == 2

    assert run_cli(monkeypatch, "delta", str(config)) == 0
    assert "Fairness delta" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "runs" / "d-delta" / "delta.csv")
    assert list(table["protocol"]) == ["image-level (published benchmarks; leaky)", "grouped (busbench)"]

    cfg = load_config(config)
    data_dir = tmp_path / "runs" / "data" / cfg.data.key()
    group = _true_groups(load_manifest(data_dir))
    assert len(set(group.values())) < len(group) - 5  # the generator made copies and second views
    for protocol, variant in protocol_configs(cfg).items():
        cell = tmp_path / "runs" / variant.name / cfg.data.key() / cfg.model.key()
        split = json.loads((data_dir / json.loads((cell / "environment.json").read_text())["split_file"]).read_text())
        truth = set().union(*(_true_leaks(split, group, fold) for fold in (1, 2)))
        row = table[table["protocol"].str.startswith(protocol.split("_")[0].replace("image", "image-level"))].iloc[0]
        assert row["leaked test images (any fold model)"] == len(truth)
        if protocol == "grouped":
            assert len(truth) == 0 and pd.isna(row["Dice, leaked images"])  # "n/a" in the file
            assert pd.isna(row["Dice, leaked lesion images"]) and not pd.isna(row["Dice, other lesion images"])
        else:  # the leaked images' Dice, from the per-image scores and the true leaks, fold by fold
            scores = pd.read_csv(cell / "per_image_metrics.csv", dtype={"case_id": str})
            per_fold = [scores[(scores["fold"] == k) & scores["case_id"].isin(_true_leaks(split, group, k))]["dice"]
                        .mean() for k in (1, 2)]
            assert float(row["Dice, leaked images"].split(" ± ")[0]) == pytest.approx(np.mean(per_fold), abs=5e-4)
    leaky = table.iloc[0]
    assert leaky["leaked test images (any fold model)"] > 0  # 30 % near-copies: some cross the image-level split
    markdown = (tmp_path / "runs" / "d-delta" / "delta.md").read_text()
    assert markdown.startswith("| Dataset | Model | Protocol | Test images |")  # names, never the folder keys
    assert f"| {table.iloc[0]['Dataset']} | {table.iloc[0]['Model']} |" in markdown
    assert table.iloc[0]["dataset"] not in markdown and f"| {table.iloc[0]['model']} |" not in markdown


def test_a_cell_that_records_no_split_file_is_named(tmp_path: Path) -> None:
    configs = protocol_configs(load_config(None, [f"output_dir={tmp_path}", "split.folds=2"]))
    with pytest.raises(BusbenchError, match=r"environment\.json: missing or names no split file; run `busbench delta"):
        fairness_delta(configs)
