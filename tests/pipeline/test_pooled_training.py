"""Pooled development (``data: [A, B]``) and leave one dataset out on the real BUSI and BUS-BRA, at
tiny scale: the pool trains on both development parts, each test set is scored and tabled on its own,
a planted copy of a BUS-BRA test image in BUSI's development part is never trained on, and the
train-on x test-on matrix holds the numbers recomputed here from the per-image tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from busi_copies import busbra_subset_copy, busi_subset_copy

from busbench import pipeline
from busbench.config import ExperimentConfig, load_config
from busbench.errors import BusbenchError
from busbench.pipeline.pool import Member, check_fold_counts, pooled_id
from busbench.report.build import build_report
from busbench.train import checkpoint

TINY = ["split.folds=2", "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "train.batch_size=8",
        "eval.postprocess=false"]
PLANTED = "benign (9999)"


def _copies(tmp_path: Path) -> tuple[Path, Path]:
    return busi_subset_copy(tmp_path / "busi", per_label=6), busbra_subset_copy(tmp_path / "busbra", 40)


def _config(tmp_path: Path, data: str, *extra: str) -> ExperimentConfig:
    return load_config(None, ["name=pool", f"output_dir={tmp_path / 'runs'}", f"data={data}", *TINY, *extra])


def _cell(cfg: ExperimentConfig) -> Path:
    return cfg.output_dir / cfg.name / cfg.data.key() / cfg.model.key()


def _plant(busi: Path, busbra: Path, twin: str) -> str:
    """A BUS-BRA image and its mask copied into BUSI as the benign case ``PLANTED``; returns ``twin``."""
    shutil.copyfile(busbra / "Images" / f"{twin}.png", busi / "benign" / f"{PLANTED}.png")
    shutil.copyfile(busbra / "Masks" / f"{twin.replace('bus_', 'mask_', 1)}.png",
                    busi / "benign" / f"{PLANTED}_mask.png")
    return twin


def test_a_pool_trains_on_both_development_parts_never_on_a_copy_of_a_test_image(tmp_path: Path) -> None:
    busi, busbra = _copies(tmp_path)
    bra_test = pipeline.prepare_data(_config(tmp_path, f"{{dataset: busbra, root: {busbra}}}"))
    twin = _plant(busi, busbra, bra_test.test_ids()[0])
    cfg = _config(tmp_path, f"[{{dataset: busi, root: {busi}}}, {{dataset: busbra, root: {busbra}}}]")
    assert cfg.data.key().startswith("pool-busi+busbra-")
    busi_key, bra_key = (member.key() for member in cfg.data.pool)
    busi_alone = pipeline.prepare_data(cfg.model_copy(update={"data": cfg.data.pool[0]}))
    assert PLANTED in busi_alone.development.fold_of, "the planted copy must fall in BUSI's development part"

    rows = pipeline.run_experiment(cfg)
    assert len(rows)
    data = pipeline.prepare_data(cfg)
    planted = pooled_id(busi_key, PLANTED)
    assert planted not in data.development.fold_of and planted not in data.split.held_out()
    pooled = {entry["key"]: entry for entry in data.split.settings["pool"]}
    assert pooled[busi_key]["dropped"] == {planted: pooled_id(bra_key, twin)}
    planted_pixels = busi_alone.manifest.frame.set_index("case_id").loc[PLANTED, "pixel_sha256"]
    for fold in (1, 2):
        trained = checkpoint.load(_cell(cfg) / f"fold-{fold}" / "best.pt")["training_images"]
        assert planted not in trained["case_ids"] and planted_pixels not in trained["pixel_sha256"]
        assert {case.split(":")[0] for case in trained["case_ids"]} == {busi_key, bra_key}
    # fold k of the pool is each dataset's fold k
    for member, alone in ((busi_key, busi_alone), (bra_key, bra_test)):
        for case, fold in alone.development.fold_of.items():
            if pooled_id(member, case) in data.development.fold_of:
                assert data.development.fold_of[pooled_id(member, case)] == fold
    tested = pd.read_csv(_cell(cfg) / "fold-1" / "test_metrics.csv", dtype={"case_id": str})
    expected = {pooled_id(busi_key, c) for c in busi_alone.test_ids()} | {pooled_id(bra_key, c)
                                                                         for c in bra_test.test_ids()}
    assert set(tested["case_id"]) == expected

    report = build_report(cfg.output_dir, tmp_path / "report", qualitative=False)
    for member, alone in ((busi_key, busi_alone), (bra_key, bra_test)):
        table = pd.read_csv(tmp_path / "report" / "tables" / f"{member}.csv")
        assert table["model"].str.contains("trained on BUSI \\+ BUS-BRA").all()
        assert (table["test_images"] == len(alone.test_ids())).all()
    page = (tmp_path / "report" / "report.html").read_text()
    assert "1 development image(s) dropped as duplicates of another pooled dataset" in page
    assert report.cross is not None and report.cross["Trained on"].tolist() == ["BUSI + BUS-BRA"]


def test_leave_one_dataset_out_makes_the_matrix_of_the_per_image_scores(tmp_path: Path) -> None:
    busi, busbra = _copies(tmp_path)
    # a BUS-BRA test image planted in BUSI's development part: dropped from the pool of BUSI and BUS-BRA, and
    # dropped as seen (and counted) when the cell that trained on BUSI and left BUS-BRA out scores BUS-BRA
    bra_test = pipeline.prepare_data(load_config(None, [f"output_dir={tmp_path / 'runs'}", *TINY,
                                                        f"data={{dataset: busbra, root: {busbra}}}"]))
    _plant(busi, busbra, bra_test.test_ids()[0])
    datasets = (f"[{{dataset: busi, root: {busi}}}, {{dataset: busbra, root: {busbra}}}, "
                "{dataset: synthetic, options: {count: 24, size: 40, seed: 1}}]")
    cfg = load_config(None, ["name=lodo", f"output_dir={tmp_path / 'runs'}", f"grid.datasets={datasets}",
                             "grid.protocol=leave_one_dataset_out", *TINY])
    cells = cfg.cells()
    assert [len(c.data.pool) for c in cells] == [2, 2, 2]
    assert [c.eval.cross_datasets[0].dataset for c in cells] == ["busi", "busbra", "synthetic"]
    pipeline.run_experiment(cfg)
    build_report(cfg.output_dir, tmp_path / "report", qualitative=False)
    entries = pd.read_csv(tmp_path / "report" / "tables" / "train_test_matrix.csv")
    assert sorted(entries["trained_on"].unique()) == ["BUS-BRA + Synthetic", "BUSI + BUS-BRA", "BUSI + Synthetic"]
    assert len(entries) == 9  # each cell: its two pooled test sets and the left-out one
    seen = entries.set_index(["trained_on", "tested_on"])["seen_dropped"]
    assert seen[("BUSI + Synthetic", "BUS-BRA")] == 1 and seen.drop(("BUSI + Synthetic", "BUS-BRA")).eq(0).all()
    assert entries.set_index(["trained_on", "tested_on"]).loc[("BUSI + Synthetic", "BUS-BRA"), "images"] == len(
        bra_test.test_ids()) - 1
    titles = {"busi": "BUSI", "busbra": "BUS-BRA", "synthetic": "Synthetic"}
    for cell in cells:
        folder, trained_on = _cell(cell), " + ".join(titles[m.dataset] for m in cell.data.pool)
        folds = pd.concat([pd.read_csv(folder / f"fold-{k}" / "test_metrics.csv", dtype={"case_id": str})
                           for k in (1, 2)])
        cross = pd.read_csv(folder / "cross_dataset_metrics.csv", dtype={"case_id": str})
        scored = {m.key(): folds[folds["case_id"].str.startswith(m.key() + ":")] for m in cell.data.pool}
        scored |= {k: rows for k, rows in cross.groupby("test_dataset")}
        for key, all_rows in scored.items():
            dataset = key.rsplit("-", 1)[0]
            rows = all_rows[all_rows["label"] != "normal"]  # the matrix, as the main table, scores lesion images
            row = entries[(entries["trained_on"] == trained_on) & (entries["tested_on"] == titles[dataset])]
            assert len(row) == 1
            by_hand = np.mean([fold["dice"].mean() for _, fold in rows.groupby("fold")])
            assert row["dice_mean"].iloc[0] == pytest.approx(by_hand)
            assert row["images"].iloc[0] == rows["case_id"].nunique()
            assert row["dice_ci_low"].iloc[0] <= row["dice_mean"].iloc[0] + 1e-9 <= row["dice_ci_high"].iloc[0] + 2e-9
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'alt="train test matrix"' in page and "Across sources: trained on x tested on" in page


def test_pooled_datasets_with_unequal_fold_counts_are_refused(tmp_path: Path) -> None:
    synthetic = "data.options={count: 24, size: 40, seed: 1}"
    two = pipeline.prepare_data(load_config(None, [f"output_dir={tmp_path}", synthetic, "split.folds=2"]))
    three = pipeline.prepare_data(load_config(None, [f"output_dir={tmp_path}", synthetic, "split.folds=3"]))
    assert check_fold_counts([Member("a", two), Member("b", two)]) == 2
    with pytest.raises(BusbenchError, match=r"data.pool: .*different fold counts \(a 2, b 3\).*set split.folds"):
        check_fold_counts([Member("a", two), Member("b", three)])


def test_copies_across_pooled_datasets_share_a_fold_and_never_face_a_test_copy(tmp_path: Path) -> None:
    """Two synthetic datasets of one seed hold the same images: each development copy of the other's test
    image is dropped, and the development copies are moved into one fold."""
    first, second = (f"{{dataset: synthetic, options: {{count: {n}, size: 40, seed: 3}}}}" for n in (40, 50))
    cfg = _config(tmp_path, f"[{first}, {second}]")
    data = pipeline.prepare_data(cfg)
    frame = data.manifest.frame.set_index("case_id")
    pixels = frame["pixel_sha256"]
    development, test = data.development.fold_of, set(data.split.held_out())
    dropped = {case for entry in data.split.settings["pool"] for case in entry["dropped"]}
    assert dropped and data.split.settings["moved_to_their_duplicates_fold"]
    assert not dropped & set(frame.index)
    assert not set(pixels[list(development)]) & set(pixels[list(test)])
    folds_of_pixels = pd.DataFrame({"pixels": pixels[list(development)], "fold": list(development.values())})
    assert (folds_of_pixels.groupby("pixels")["fold"].nunique() == 1).all()


def test_a_pooled_cell_with_seeds_is_one_row_per_test_set_averaging_its_seeds(tmp_path: Path) -> None:
    """train.seeds on a pool: one cell per seed; the report merges the seeds, then splits the pool by test set,
    so each pooled dataset's table has one row whose Dice is the seeds' mean of that dataset's rows."""
    members = [f"{{dataset: synthetic, options: {{count: 30, size: 40, seed: {s}}}}}" for s in (1, 2)]
    cfg = _config(tmp_path, f"[{', '.join(members)}]", "train.seeds=[0, 1]", "train.epochs=4", "optimizer.lr=0.01",
                  "train.batch_size=4", "train.augmentation=none", "loss.name=dice")
    pipeline.run_experiment(cfg)
    build_report(cfg.output_dir, tmp_path / "report", qualitative=False)
    pooled = cfg.output_dir / cfg.name / cfg.data.key()
    tables = tmp_path / "report" / "tables"
    for member in cfg.data.pool:
        key = member.key()
        cell_means = []
        for seed in (0, 1):
            scores = pd.read_csv(pooled / f"{cfg.model.key()}-seed{seed}" / "per_image_metrics.csv", dtype={
                "case_id": str})
            own = scores[scores["case_id"].str.startswith(key + ":") & (scores["label"] != "normal")]  # lesions
            cell_means.append(own.groupby("fold")["dice"].mean().mean())
        assert cell_means[0] != pytest.approx(cell_means[1], abs=1e-6)  # the seeds trained differently
        table = pd.read_csv(tables / f"{key}_accuracy.csv")
        fold_row = table[table["row"] == "fold models"]
        assert len(fold_row) == 1 and fold_row["seeds"].iloc[0] == 2
        assert fold_row["dice_lesion_mean"].iloc[0] == pytest.approx(np.mean(cell_means), abs=1e-6)
        assert fold_row["dice_lesion_seed_sd"].iloc[0] == pytest.approx(np.std(cell_means, ddof=1), abs=1e-6)
        entry = pd.read_csv(tables / "train_test_matrix.csv").query("tested_on.str.contains(@key)", engine="python")
        assert len(entry) == 1 and entry["dice_mean"].iloc[0] == pytest.approx(np.mean(cell_means), abs=1e-6)
        assert entry["trained_on"].iloc[0] == "Synthetic + Synthetic"
