"""`busbench export-test` and `busbench export nnunet`, checked against the split JSON read here and
nnU-Net v2's documented raw format (documentation/dataset_format.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from console_file import console_file
from PIL import Image
from square_data import HEIGHT, SIZE, SquareData, make_square_data


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> SquareData:
    return make_square_data(tmp_path_factory.mktemp("squares"))


def _raw_image(squares: SquareData, case_id: str) -> np.ndarray:
    """The dataset's own file, read with Pillow (the BUSI layout saves grey images as RGB)."""
    label = case_id.split(" ")[0]
    path = squares.data_dir.parent.parent / "raw" / "Dataset_BUSI_with_GT" / label / f"{case_id}.png"
    return np.asarray(Image.open(path).convert("L"))


def test_export_test_writes_the_test_images_only(squares: SquareData, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "test-images"
    assert run_cli(monkeypatch, "export-test", str(squares.data_dir), "--out", str(out)) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([f"{c}.png" for c in squares.test_ids] + ["cases.csv"])
    for case_id in squares.test_ids:
        assert np.array_equal(np.asarray(Image.open(out / f"{case_id}.png")), _raw_image(squares, case_id))
    cases = pd.read_csv(out / "cases.csv", dtype=str)
    assert sorted(cases["case_id"]) == squares.test_ids
    assert set(cases["width"]) == {str(SIZE)} and set(cases["height"]) == {str(HEIGHT)}
    assert "label" not in cases  # nothing of the ground truth leaves with the images
    assert run_cli(monkeypatch, "export-test", str(squares.data_dir), "--out", str(out)) == 2  # not empty


def test_export_nnunet_follows_the_format_and_the_split(squares: SquareData, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "export", "nnunet", str(squares.data_dir), "--dataset-id", "501", "--out",
                   str(tmp_path / "nnUNet_raw")) == 0
    folder = tmp_path / "nnUNet_raw" / "Dataset501_BUSI"
    meta = json.loads((folder / "dataset.json").read_text())
    assert meta["channel_names"] == {"0": "ultrasound"} and meta["labels"] == {"background": 0, "lesion": 1}
    assert meta["file_ending"] == ".png" and meta["numTraining"] == len(squares.fold_of)
    mapping = pd.read_csv(folder / "case_ids.csv", dtype=str, keep_default_na=False)
    to_case = dict(zip(mapping["nnunet_id"], mapping["case_id"]))
    assert all(re.fullmatch(r"BUSI_\d{4}", i) for i in to_case) and len(set(to_case.values())) == len(to_case)
    images_tr = sorted(p.name for p in (folder / "imagesTr").iterdir())
    labels_tr = sorted(p.name for p in (folder / "labelsTr").iterdir())
    images_ts = sorted(p.name for p in (folder / "imagesTs").iterdir())
    assert all(re.fullmatch(r"BUSI_\d{4}_0000\.png", n) for n in images_tr + images_ts)
    assert [n.replace("_0000", "") for n in images_tr] == labels_tr
    assert sorted(to_case[n[:-9]] for n in images_ts) == squares.test_ids
    assert sorted(to_case[n[:-4]] for n in labels_tr) == sorted(squares.fold_of)
    for name in labels_tr:
        label = np.asarray(Image.open(folder / "labelsTr" / name))
        assert label.dtype == np.uint8 and set(np.unique(label)) <= {0, 1}
        assert np.array_equal(label, squares.truth(to_case[name[:-4]]).astype(np.uint8))
        image = np.asarray(Image.open(folder / "imagesTr" / name.replace(".png", "_0000.png")))
        assert image.shape == label.shape  # one geometry per case, as nnU-Net requires
    splits = json.loads((folder / "splits_final.json").read_text())
    folds = sorted(set(squares.fold_of.values()))
    assert len(splits) == len(folds)
    for k, fold in zip(folds, splits):
        assert sorted(to_case[i] for i in fold["val"]) == sorted(c for c, f in squares.fold_of.items() if f == k)
        assert sorted(to_case[i] for i in fold["train"]) == sorted(c for c, f in squares.fold_of.items() if f != k)


def test_nnunet_predictions_are_scored_through_the_case_map(squares: SquareData, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "export", "nnunet", str(squares.data_dir), "--dataset-id", "502", "--name", "Sq",
                   "--out", str(tmp_path / "raw")) == 0
    folder = tmp_path / "raw" / "Dataset502_Sq"
    mapping = pd.read_csv(folder / "case_ids.csv", dtype=str, keep_default_na=False)
    preds = tmp_path / "preds"
    preds.mkdir()
    for row in mapping[mapping["set"] == "test"].itertuples():  # what nnUNetv2_predict writes: labels 0/1
        Image.fromarray(squares.truth(row.case_id).astype(np.uint8)).save(preds / f"{row.nnunet_id}.png")
    (preds / "plans.json").write_text("{}")  # nnU-Net's own files beside the predictions are ignored
    args = ["score", str(squares.data_dir), "--predictions", str(preds), "--name", "nnunet",
            "--out", str(tmp_path / "out")]
    assert run_cli(monkeypatch, *args) == 2  # nnU-Net ids are no case ids
    assert run_cli(monkeypatch, *args, "--case-map", str(folder / "case_ids.csv")) == 0
    scores = pd.read_csv(tmp_path / "out/nnunet/busi-squares/nnunet/test_metrics.csv", keep_default_na=False)
    assert sorted(scores["case_id"]) == squares.test_ids and (scores["dice"] == 1).all()
    development = mapping[mapping["set"] == "cv"].iloc[0]  # nnU-Net's validation output must not slip in
    Image.fromarray(squares.truth(development.case_id).astype(np.uint8)).save(preds / f"{development.nnunet_id}.png")
    assert run_cli(monkeypatch, *args, "--case-map", str(folder / "case_ids.csv")) == 2


def test_export_nnunet_refuses_bad_ids_and_names(squares: SquareData, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    base = ["export", "nnunet", str(squares.data_dir), "--out", str(tmp_path)]
    assert run_cli(monkeypatch, *base, "--dataset-id", "1000") == 2
    assert "--dataset-id 1000" in capsys.readouterr().err
    assert run_cli(monkeypatch, *base, "--dataset-id", "501", "--name", "my data") == 2
    assert "--name 'my data'" in capsys.readouterr().err


def test_export_nnunet_prints_progress_while_it_writes(squares: SquareData, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """BUSI's 780 cases took 24 s without a line on a redirected output."""
    with console_file(tmp_path / "out.txt", monkeypatch) as out:
        assert run_cli(monkeypatch, "export", "nnunet", str(squares.data_dir), "--dataset-id", "502", "--out",
                       str(tmp_path / "nnUNet_raw")) == 0
    total = len(squares.fold_of) + len(squares.test_ids)
    assert f"export nnunet: writing images: {total}/{total} (100 %)" in out.read_text()
