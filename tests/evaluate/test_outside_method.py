"""`busbench score` on a dataset of square lesions: values built by hand, and every bad input."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_cli
from PIL import Image
from square_data import HEIGHT, SIDE, SIZE, SquareData, make_square_data

from busbench.data.export.held_out import load_split_data
from busbench.data.manifest import load_manifest
from busbench.data.split.split_file import SplitSettings, plan_split, write_split
from busbench.errors import BusbenchError
from busbench.evaluate.outside_method import ScoreOptions, score_method
from busbench.evaluate.prediction_files import read_prediction


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> SquareData:
    return make_square_data(tmp_path_factory.mktemp("squares"))


def _write(folder: Path, masks: dict[str, np.ndarray], scale: int = 255) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for case_id, mask in masks.items():
        Image.fromarray(mask.astype(np.uint8) * scale).save(folder / f"{case_id}.png")
    return folder


def _score(squares: SquareData, predictions: Path, out: Path, **options: object) -> pd.DataFrame:
    run_dir, _ = score_method(load_split_data(squares.data_dir), predictions, "outside", out,
                              ScoreOptions(**options))  # type: ignore[arg-type]
    return pd.read_csv(run_dir / "test_metrics.csv", keep_default_na=False).set_index("case_id")


def test_ground_truth_as_predictions_scores_dice_1_and_hd95_0(squares: SquareData, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "perfect", {c: squares.truth(c) for c in squares.test_ids}, scale=1)
    scores = _score(squares, predictions, tmp_path / "out")
    assert sorted(scores.index) == squares.test_ids
    lesion = scores.loc[squares.lesion_test_ids()]
    assert (lesion["dice"] == 1).all() and (lesion["hd95"] == 0).all() and (lesion["empty_case"] == "").all()
    normal = scores.loc[squares.normal_test_ids()]
    assert (normal["dice"] == 1).all() and (normal["empty_case"] == "both_empty").all()


def test_empty_predictions_follow_the_empty_mask_conventions(squares: SquareData, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "empty", {c: np.zeros((HEIGHT, SIZE), bool) for c in squares.test_ids})
    scores = _score(squares, predictions, tmp_path / "out")
    lesion = scores.loc[squares.lesion_test_ids()]
    assert (lesion[["dice", "iou", "precision", "recall"]] == 0).all().all()
    assert np.allclose(lesion["hd95"], math.sqrt(HEIGHT**2 + SIZE**2), atol=1e-5)  # the image diagonal
    assert (lesion["empty_case"] == "missed_lesion").all()
    normal = scores.loc[squares.normal_test_ids()]
    assert (normal[["dice", "iou", "precision", "recall"]] == 1).all().all() and (normal["hd95"] == 0).all()


def test_a_square_half_overlapping_the_lesion_scores_dice_one_half(squares: SquareData, tmp_path: Path) -> None:
    case_id = squares.lesion_test_ids()[0]
    top, left = squares.squares[case_id]
    shifted = np.zeros((HEIGHT, SIZE), dtype=bool)
    shifted[top:top + SIDE, left + SIDE // 2:left + SIDE // 2 + SIDE] = True  # 8x4 of 8x8 pixels shared
    masks = {c: squares.truth(c) for c in squares.test_ids} | {case_id: shifted}
    scores = _score(squares, _write(tmp_path / "half", masks), tmp_path / "out")
    row = scores.loc[case_id]
    assert row["dice"] == pytest.approx(0.5, abs=1e-6)  # 2*32 / (64 + 64)
    assert row["iou"] == pytest.approx(1 / 3, abs=1e-6)  # 32 / 96
    assert row["precision"] == pytest.approx(0.5, abs=1e-6) and row["recall"] == pytest.approx(0.5, abs=1e-6)
    assert row["hd95"] == pytest.approx(4.0, abs=1e-6)  # the boundaries are SIDE/2 apart at most
    # the shapes are scored too: both squares SIDE x SIDE, centroids SIDE/2 apart; no probability, no max_prob
    assert float(row["true_area"]) == float(row["pred_area"]) == SIDE * SIDE
    assert float(row["pred_depth_width"]) == pytest.approx(1.0)
    assert float(row["centroid_error"]) == pytest.approx(SIDE / 2)
    assert "max_prob" not in scores


def test_probability_maps_need_a_threshold_and_use_value_over_type_range(tmp_path: Path) -> None:
    shape = (2, 3)
    eight = np.array([[0, 127, 128], [255, 200, 1]], dtype=np.uint8)  # 127/255 < 0.5 <= 128/255
    Image.fromarray(eight).save(tmp_path / "p8.png")
    with pytest.raises(BusbenchError, match=r"p8.png: a probability map.*--threshold"):
        read_prediction(tmp_path / "p8.png", shape, None)
    assert read_prediction(tmp_path / "p8.png", shape, 0.5).mask.tolist() == [[False, False, True],
                                                                              [True, True, False]]
    sixteen = np.array([[0, 32767, 32768], [65535, 40000, 255]], dtype=np.uint16)  # 255 is near 0 in 16 bits
    Image.fromarray(sixteen).save(tmp_path / "p16.png")
    assert read_prediction(tmp_path / "p16.png", shape, 0.5).mask.tolist() == [[False, False, True],
                                                                               [True, True, False]]
    np.save(tmp_path / "p.npy", np.array([[0.0, 0.49, 0.5], [1.0, 0.7, 0.1]]))
    assert read_prediction(tmp_path / "p.npy", shape, 0.5).mask.tolist() == [[False, False, True],
                                                                            [True, True, False]]
    np.save(tmp_path / "logits.npy", np.array([[-2.0, 0.5, 3.0], [0, 0, 0]]))
    with pytest.raises(BusbenchError, match=r"logits.npy: values outside \[0, 1\]"):
        read_prediction(tmp_path / "logits.npy", shape, 0.5)
    for name, binary in (("m1.png", np.array([[0, 1, 1], [0, 0, 1]], np.uint8)),
                         ("m255.png", np.array([[0, 255, 255], [0, 0, 255]], np.uint8)),
                         ("m255_16.png", np.array([[0, 255, 255], [0, 0, 255]], np.uint16))):
        Image.fromarray(binary).save(tmp_path / name)
        for threshold in (None, 0.9):  # a mask is a mask whatever the threshold: 1/255 < 0.9 must not empty it
            read = read_prediction(tmp_path / name, shape, threshold)
            assert read.mask.tolist() == [[False, True, True], [False, False, True]] and not read.thresholded


def test_sizes_other_than_the_original_need_resize_which_is_marked(squares: SquareData, tmp_path: Path) -> None:
    masks = {c: squares.truth(c) for c in squares.test_ids}
    doubled = {c: np.kron(m, np.ones((2, 2), dtype=bool)) for c, m in masks.items()}  # 80 x 64 px
    predictions = _write(tmp_path / "doubled", doubled)
    with pytest.raises(BusbenchError, match=r"80x64 px, but the original image is 40x32.*--resize"):
        _score(squares, predictions, tmp_path / "out")
    scores = _score(squares, predictions, tmp_path / "out", resize=True)
    assert (scores["dice"] == 1).all() and scores["resized"].all()  # nearest halves a doubled mask exactly
    record = json.loads((tmp_path / "out" / "outside" / "busi-squares" / "outside" / "score.json").read_text())
    assert any("5 predictions resized" in note for note in record["notes"])


@pytest.mark.parametrize(("image", "found", "refused"), [
    ((40, 32), (64, 80), True), ((40, 32), (32, 40), True), ((40, 32), (64, 64), False), ((40, 32), (80, 64), False),
    ((40, 32), (40, 34), False), ((51, 50), (98, 100), False)])  # near-square: turned, but within 5 % of its own
def test_a_transposed_map_is_refused_a_stretched_square_one_resized(tmp_path: Path, image: tuple[int, int],
                                                                   found: tuple[int, int], refused: bool) -> None:
    """An image 40 high and 32 wide: a map 64 high and 80 wide is it turned, at twice the size (refused with
    --resize or without); a square map (a network's stretched input) or one within 5 % of its own aspect ratio
    is resized back."""
    path = tmp_path / "prediction.png"
    Image.fromarray(np.zeros(found, dtype=np.uint8)).save(path)
    if refused:
        for resize in (True, False):
            with pytest.raises(BusbenchError, match=r"width and height swapped: a transposed array\?"):
                read_prediction(path, image, None, resize=resize)
    else:
        assert read_prediction(path, image, None, resize=True).mask.shape == image


def test_missing_predictions_are_an_error_or_scored_empty_and_said(squares: SquareData, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    absent = squares.lesion_test_ids()[:2]
    predictions = _write(tmp_path / "partial", {c: squares.truth(c) for c in squares.test_ids if c not in absent})
    args = ["score", str(squares.data_dir), "--predictions", str(predictions), "--name", "partial",
            "--out", str(tmp_path / "out")]
    assert run_cli(monkeypatch, *args) == 2
    error = capsys.readouterr().err
    assert "no prediction for 2 of 5 test cases" in error and all(c in error for c in absent)
    assert "--missing empty" in error
    assert run_cli(monkeypatch, *args, "--missing", "empty") == 0
    assert "2 test images without a prediction scored as empty" in capsys.readouterr().out
    scores = pd.read_csv(tmp_path / "out/partial/busi-squares/partial/test_metrics.csv", keep_default_na=False)
    assert sorted(scores.loc[scores["missing"], "case_id"]) == sorted(absent)
    assert (scores.loc[scores["missing"], "empty_case"] == "missed_lesion").all()
    summary = (tmp_path / "out/partial/busi-squares/partial/summary.md").read_text()
    assert "| partial | prediction set |" in summary
    assert "† partial: 2 test images without a prediction scored as empty (--missing empty)" in summary


def test_a_development_case_prediction_is_refused(squares: SquareData, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    development = sorted(squares.fold_of)[0]
    masks = {c: squares.truth(c) for c in [*squares.test_ids, development]}
    predictions = _write(tmp_path / "leaky", masks)
    assert run_cli(monkeypatch, "score", str(squares.data_dir), "--predictions", str(predictions), "--name", "m",
                   "--out", str(tmp_path / "out")) == 2
    error = capsys.readouterr().err
    assert f"{development}.png (development case" in error and "must never enter test scoring" in error
    assert not (tmp_path / "out").exists()
    (predictions / f"{development}.png").unlink()
    _write(predictions, {"scan 7": np.zeros((HEIGHT, SIZE), bool)})
    with pytest.raises(BusbenchError, match=r"1 file naming no case.*scan 7.png"):
        _score(squares, predictions, tmp_path / "out")


def test_several_split_files_need_split(squares: SquareData, tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "busi-squares"
    shutil.copytree(squares.data_dir, data_dir)
    shutil.copy(data_dir / "split-test.json", data_dir / "split-other.json")
    with pytest.raises(BusbenchError, match=r"holds 2 split files \(split-other.json, split-test.json\).*--split"):
        load_split_data(data_dir)
    assert load_split_data(data_dir, Path("split-test.json")).split_path == data_dir / "split-test.json"
    for split in data_dir.glob("split-*.json"):
        split.unlink()
    with pytest.raises(BusbenchError, match=r"no split file; create one with `busbench split"):
        load_split_data(data_dir)
    with pytest.raises(BusbenchError, match=r"no manifest.csv; give the folder `busbench prepare` wrote"):
        load_split_data(tmp_path)


@pytest.mark.parametrize(("name", "write", "message"), [
    ("colour.png", lambda p: Image.fromarray(np.dstack([np.eye(3, dtype=np.uint8) * 255, np.zeros((3, 3, 2),
                                                                                                    np.uint8)])).save(p),
     r"colour.png: a colour PNG \(RGB\); save predictions as grey"),
    ("stack.npy", lambda p: np.save(p, np.zeros((2, 3, 3))), r"stack.npy: has shape \(2, 3, 3\); save one 2-D map"),
    ("words.npy", lambda p: np.save(p, np.array([["a"] * 3] * 3)), r"words.npy: holds <U1 values"),
    ("broken.png", lambda p: p.write_bytes(b"not a png"), r"broken.png: not a readable image"),
])
def test_unusable_prediction_files_are_named(tmp_path: Path, name: str, write: object, message: str) -> None:
    write(tmp_path / name)  # type: ignore[operator]
    with pytest.raises(BusbenchError, match=message):
        read_prediction(tmp_path / name, (3, 3), 0.5)


def test_grey_rgb_pngs_and_boolean_arrays_are_masks(tmp_path: Path) -> None:
    grey = np.array([[0, 255, 0]], dtype=np.uint8)
    Image.fromarray(np.dstack([grey] * 3)).save(tmp_path / "rgb.png")
    np.save(tmp_path / "b.npy", grey > 0)
    for name in ("rgb.png", "b.npy"):
        assert read_prediction(tmp_path / name, (1, 3), None).mask.tolist() == [[False, True, False]]


def test_two_files_of_one_case_and_bad_names_are_refused(squares: SquareData, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "both", {c: squares.truth(c) for c in squares.test_ids})
    case_id = squares.test_ids[0]
    np.save(predictions / f"{case_id}.npy", squares.truth(case_id))
    with pytest.raises(BusbenchError, match=rf"{re.escape(case_id)}.npy and {re.escape(case_id)}.png are both"):
        _score(squares, predictions, tmp_path / "out")
    (predictions / f"{case_id}.npy").unlink()
    with pytest.raises(BusbenchError, match=r"--name 'my method'"):
        score_method(load_split_data(squares.data_dir), predictions, "my method", tmp_path,
                     ScoreOptions())
    trained = tmp_path / "unet" / "busi-squares" / "unet"
    trained.mkdir(parents=True)
    (trained / "config.yaml").write_text("name: unet\n")
    with pytest.raises(BusbenchError, match=r"a trained run of `busbench run`"):
        score_method(load_split_data(squares.data_dir), predictions, "unet", tmp_path,
                     ScoreOptions())


@pytest.mark.parametrize(("extra", "message"), [
    (["--threshold", "50"], "--threshold 50.0: give a probability in (0, 1]"),
    (["--split", "split-none.json"], "--split split-none.json: no such split file"),
    (["--case-map", "nowhere.csv"], "nowhere.csv: --case-map not found; give the case_ids.csv"),
])
def test_bad_score_options_are_named(squares: SquareData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    predictions = _write(tmp_path / "p", {c: squares.truth(c) for c in squares.test_ids})
    assert run_cli(monkeypatch, "score", str(squares.data_dir), "--predictions", str(predictions), "--name", "m",
                   "--out", str(tmp_path / "out"), *extra) == 2
    assert message in capsys.readouterr().err


def test_the_default_output_folder_is_the_one_holding_the_data(squares: SquareData, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    predictions = _write(tmp_path / "p", {c: squares.truth(c) for c in squares.test_ids})
    elsewhere = tmp_path / "prepared"
    shutil.copytree(squares.data_dir, elsewhere)
    args = ["--predictions", str(predictions), "--name", "m"]
    assert run_cli(monkeypatch, "score", str(elsewhere), *args) == 2
    assert "not inside an OUTPUT_DIR/data/ folder; give --out" in capsys.readouterr().err
    output_dir = tmp_path / "results"
    shutil.copytree(squares.data_dir, output_dir / "data" / "busi-squares")
    assert run_cli(monkeypatch, "score", str(output_dir / "data" / "busi-squares"), *args) == 0
    assert (output_dir / "m" / "busi-squares" / "m" / "test_metrics.csv").is_file()


def test_a_method_scored_on_another_split_is_not_replaced(squares: SquareData, tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "busi-squares"
    shutil.copytree(squares.data_dir, data_dir)
    manifest = load_manifest(data_dir)
    write_split(plan_split(manifest, SplitSettings(test_size=0.25, folds=2, seed=2)), data_dir / "split-other.json")
    for split in ("split-test.json", "split-test.json"):  # a rescore on the same split replaces the folder
        test_ids = load_split_data(data_dir, Path(split)).split.held_out()
        chosen = tmp_path / split
        shutil.rmtree(chosen, ignore_errors=True)
        _write(chosen, {c: squares.truth(c) for c in test_ids})
        score_method(load_split_data(data_dir, Path(split)), chosen, "m", tmp_path / "out", ScoreOptions())
    other = load_split_data(data_dir, Path("split-other.json"))
    other_predictions = _write(tmp_path / "other", {c: squares.truth(c) for c in other.split.held_out()})
    with pytest.raises(BusbenchError, match=r"'m' was scored on another split file there"):
        score_method(other, other_predictions, "m", tmp_path / "out", ScoreOptions())
