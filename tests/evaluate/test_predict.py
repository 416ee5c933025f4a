"""`busbench predict` on new images with a trained run."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from cli_runner import run_cli
from PIL import Image

import busbench
from busbench import pipeline
from busbench.config import load_config
from busbench.data.synthetic import generate_cases
from busbench.errors import BusbenchError
from busbench.evaluate import predict
from busbench.evaluate.predict import collect_inputs, load_run, overlay, predict_images
from busbench.layout.folders import BEST, DONE, ENVIRONMENT_JSON
from busbench.pipeline.checks import read_cell_config
from busbench.train import checkpoint


@pytest.fixture(scope="module")
def run_dir(tiny_run: Path) -> Path:
    return tiny_run


def test_predict_writes_one_mask_per_image_at_its_size(run_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "new"
    images.mkdir()
    sizes = {}
    for i in range(3):
        case = generate_cases(1, 56 + 8 * i, seed=5 + i)[0]
        Image.fromarray(case.image).save(images / f"scan{i}.png")
        sizes[f"scan{i}"] = case.image.shape
    Image.fromarray(np.dstack([generate_cases(1, 30, seed=6)[0].image] * 3)).save(images / "rgb.jpg")
    sizes["rgb"] = (24, 30)
    (images / "broken.png").write_bytes(b"not an image")
    (images / "notes.txt").write_text("the scans of Tuesday")
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(images), "--out", str(out),
                "--overlays") == 0
    assert f"skipped: {images / 'notes.txt'}: not an image file" in capsys.readouterr().err
    for stem, shape in sizes.items():
        mask = np.array(Image.open(out / "masks" / f"{stem}.png"))
        assert mask.shape == shape and set(np.unique(mask)) <= {0, 255}
        assert np.array(Image.open(out / "overlays" / f"{stem}.png")).shape == shape + (3,)
    table = pd.read_csv(out / "predictions.csv", keep_default_na=False)
    assert len(table) == 5
    broken = table[table["image"].str.endswith("broken.png")].iloc[0]
    assert "broken.png" in broken["error"]
    good = table[table["error"] == ""]
    assert len(good) == 4 and (good["max_probability"].astype(float).between(0, 1)).all()
    assert (good["lesion_area_fraction"].astype(float) <= 1).all()
    rows = {Path(r["image"]).name: r for r in pd.read_csv(out / "predictions.csv", dtype=str,
                                                          keep_default_na=False).to_dict("records")}
    height, width = sizes["scan0"]
    assert (rows["scan0.png"]["width"], rows["scan0.png"]["height"]) == (str(width), str(height))  # as integers
    assert rows["scan0.png"]["lesion_area_px"].isdigit() and rows["broken.png"]["width"] == ""


def test_tta_choice_changes_only_the_probabilities(run_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    image = tmp_path / "one.png"
    Image.fromarray(generate_cases(1, 48, seed=8)[0].image).save(image)
    for flag, folder in (("--no-tta", "plain"), ("--tta=rot180", "rotated")):
        assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(image), "--out",
                    str(tmp_path / folder), flag) == 0
    plain = pd.read_csv(tmp_path / "plain" / "predictions.csv")["max_probability"].iloc[0]
    rotated = pd.read_csv(tmp_path / "rotated" / "predictions.csv")["max_probability"].iloc[0]
    assert plain != rotated


def test_errors_name_the_folder_and_the_fix(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BusbenchError, match=r"unfinished run \(fold-1, fold-2 unfinished\)") as error:
        empty = tmp_path / "empty-run"
        empty.mkdir()
        (empty / "config.yaml").write_text((run_dir / "config.yaml").read_text())
        load_run(empty, torch.device("cpu"))
    assert "--allow-partial" not in str(error.value)  # no finished fold to predict with
    edited = _copy(run_dir, tmp_path)
    config = yaml.safe_load((edited / "config.yaml").read_text())
    config["eval"]["tta"] = ["hflip", "hflip"]  # a run folder edited by hand (or made before the rule)
    (edited / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(BusbenchError, match=r"config.yaml: eval.tta: hflip listed"):
        load_run(edited, torch.device("cpu"))
    with pytest.raises(BusbenchError, match="it holds these runs"):
        load_run(run_dir.parent.parent, torch.device("cpu"))  # the experiment folder, not a run
    with pytest.raises(BusbenchError, match="no image files"):
        collect_inputs(tmp_path)
    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    (only_broken / "x.png").write_bytes(b"junk")
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(only_broken), "--out",
                str(tmp_path / "o")) == 2
    printed = capsys.readouterr()
    assert "x.png" in printed.err and "no image could be read" in printed.err
    assert "masks written" not in printed.out and not (tmp_path / "o").exists()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a scan")
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(notes), "--out",
                   str(tmp_path / "n")) == 2
    printed = capsys.readouterr()
    assert "notes.txt: not an image file" in printed.err and printed.out == "" and not (tmp_path / "n").exists()
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(only_broken), "--out",
                str(tmp_path / "o"), "--tta", "transpose") == 2
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--input", str(only_broken), "--out",
                   str(tmp_path / "o"), "--tta", "hflip", "--tta", "vflip", "--tta", "hflip") == 2
    assert "error: --tta: hflip listed more than once; list each once" in capsys.readouterr().err


def test_overlay_marks_the_lesion() -> None:
    mask = np.zeros((10, 10), bool)
    mask[3:7, 3:7] = True
    drawn = overlay(np.full((10, 10), 100, np.uint8), mask)
    assert tuple(drawn[3, 3]) == (255, 0, 0) and tuple(drawn[0, 0]) == (100, 100, 100)
    assert drawn[5, 5, 0] > drawn[5, 5, 1]


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def test_an_unfinished_run_is_refused_unless_allow_partial_which_predictions_csv_states(
        run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(run_dir, tmp_path)
    (run / "fold-2" / DONE).unlink()  # fold 2 still training: its best.pt exists
    with pytest.raises(BusbenchError, match=rf"{run}: unfinished run \(fold-2 unfinished\).*--allow-partial"):
        load_run(run, torch.device("cpu"))
    image = tmp_path / "one.png"
    Image.fromarray(generate_cases(1, 48, seed=8)[0].image).save(image)
    assert run_cli(monkeypatch, "predict", "--run", str(run), "--input", str(image), "--out", str(tmp_path / "o")) == 2
    assert "fold-2 unfinished" in capsys.readouterr().err
    assert run_cli(monkeypatch, "predict", "--run", str(run), "--input", str(image), "--out", str(tmp_path / "o"),
                   "--allow-partial") == 0
    assert "warning: partial run: 1 finished fold model (fold-2 unfinished), no post-processing" in \
        capsys.readouterr().err
    table = pd.read_csv(tmp_path / "o" / "predictions.csv", keep_default_na=False)
    assert table["partial_run"].str.contains("fold-2 unfinished").all()
    assert len(load_run(run, torch.device("cpu"), allow_partial=True).models) == 1
    with pytest.raises(BusbenchError, match=r"unfinished run \(fold-2 unfinished\).*, or pass allow_partial=True "):
        busbench.load_run(run, device="cpu")  # the Python API names its own argument, not the command's option


def test_a_corrupt_best_pt_of_a_finished_fold_is_refused_by_run_and_predict(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(run_dir.parents[2], copy, ignore=shutil.ignore_patterns("*.npy"))
    run = copy / run_dir.relative_to(run_dir.parents[2])
    best = run / "fold-1" / BEST
    raw = bytearray(best.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    best.write_bytes(bytes(raw))
    with pytest.raises(BusbenchError, match=rf"{best}: differs from the checkpoint .*done.json recorded"):
        load_run(run, torch.device("cpu"))
    cfg = load_config(run / "config.yaml", [f"output_dir={copy}"])
    with pytest.raises(BusbenchError, match=rf"{best}: differs from the checkpoint"):
        pipeline.run_experiment(cfg)


class _Payload:
    """Unpickling this object runs code: it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_a_shared_run_whose_best_pt_carries_code_is_refused_without_running_it(run_dir: Path,
                                                                               tmp_path: Path) -> None:
    run = _copy(run_dir, tmp_path)
    best, marker = run / "fold-1" / BEST, tmp_path / "payload-ran"
    saved = torch.load(best, weights_only=True)
    torch.save({**saved, "extra": _Payload(marker)}, best)
    done = run / "fold-1" / DONE  # a crafted run records the crafted file's hash
    record = json.loads(done.read_text())
    done.write_text(json.dumps({**record, "checkpoints": checkpoint.checkpoint_digests(best.parent)}))
    with pytest.raises(BusbenchError, match=rf"{best}: refused, it holds Python objects"):
        load_run(run, torch.device("cpu"))
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Payload(marker)))  # the payload is real: unpickled in full, it runs
    assert marker.read_text() == "ran"


def test_sixteen_bit_inputs_holding_twelve_bit_data_are_read_as_their_eight_bit_version(
        run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eight = generate_cases(1, 48, seed=8)[0].image.copy()
    eight[0, 0] = 255
    twelve = np.rint(eight.astype(np.float64) * 4095 / 255).astype(np.uint16)  # largest value 4095: 12-bit
    for folder, image in (("eight", eight), ("twelve", twelve)):
        (tmp_path / folder).mkdir()
        Image.fromarray(image).save(tmp_path / folder / "scan.png")
    seen: list[np.ndarray] = []
    real = predict.predict_image

    def spy(run: object, image: np.ndarray, *args: object) -> tuple[np.ndarray, np.ndarray]:
        seen.append(image)
        return real(run, image, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(predict, "predict_image", spy)
    run = load_run(run_dir, torch.device("cpu"))
    for folder in ("eight", "twelve"):
        predict_images(run, [tmp_path / folder / "scan.png"], tmp_path / f"out-{folder}", torch.device("cpu"))
    assert np.abs(seen[0].astype(int) - seen[1].astype(int)).max() <= 1  # not 4095 / 257: near-black


def test_a_dark_scan_is_scaled_with_the_training_images_white_level_not_its_own(
        run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A run records the white level `prepare` scaled its training images from (255: the synthetic
    data is 8-bit); a run trained on 12-bit scans records 4095, and a dark 12-bit scan (largest value
    1500, which fits 11 bits) is then scaled 0..4095 -> 0..255 like them, not stretched as 11-bit."""
    assert json.loads((run_dir / ENVIRONMENT_JSON).read_text())["white_level"] == 255
    run = _copy(run_dir, tmp_path)
    environment = json.loads((run / ENVIRONMENT_JSON).read_text())
    (run / ENVIRONMENT_JSON).write_text(json.dumps({**environment, "white_level": 4095}))
    dark = np.rint(generate_cases(1, 48, seed=8)[0].image.astype(np.float64) * 1500 / 255).astype(np.uint16)
    dark[0, 0] = 1500
    Image.fromarray(dark).save(tmp_path / "dark.png")
    seen: list[np.ndarray] = []
    real = predict.predict_image

    def spy(trained: object, image: np.ndarray, *args: object) -> tuple[np.ndarray, np.ndarray]:
        seen.append(image)
        return real(trained, image, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(predict, "predict_image", spy)
    with caplog.at_level(logging.INFO, logger="busbench"):
        predict_images(load_run(run, torch.device("cpu")), [tmp_path / "dark.png"], tmp_path / "o",
                       torch.device("cpu"))
    np.testing.assert_array_equal(seen[0], np.rint(dark * (255 / 4095)).astype(np.uint8))
    assert int(seen[0].max()) == round(1500 * 255 / 4095)  # 93; read as 11-bit it would be 187
    assert "--input: values up to 1500 fit 11 bits, the training images were 12-bit: scaled as those " \
           "(0..4095 -> 0..255)" in caplog.text
    assert any(r.levelno == logging.WARNING and "fit 11 bits" in r.getMessage() for r in caplog.records)


def test_a_run_trained_in_fp16_is_predicted_on_the_cpu(run_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, cpu_bf16,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """fp16 autocast has no CPU path busbench uses: such a run is predicted in fp32 there; --amp overrides."""
    cpu_bf16(True)  # --amp bf16 is bf16 only where the CPU has it natively
    fp16_run = tmp_path / "fp16-run"
    shutil.copytree(run_dir, fp16_run)
    config = yaml.safe_load((fp16_run / "config.yaml").read_text())
    config["train"]["amp"] = "fp16"  # as a run trained on a GPU with amp: fp16 (or auto on a T4) records it
    (fp16_run / "config.yaml").write_text(yaml.safe_dump(config))
    image = tmp_path / "one.png"
    Image.fromarray(generate_cases(1, 48, seed=8)[0].image).save(image)
    for name, extra in (("fp16", []), ("fp32", ["--amp", "off"]), ("bf16", ["--amp", "bf16"])):
        assert run_cli(monkeypatch, "predict", "--run", str(fp16_run), "--input", str(image), "--out",
                       str(tmp_path / name), "--device", "cpu", *extra) == 0
    said = [line.split(" ", 1)[1] for line in capsys.readouterr().out.splitlines() if " precision: " in line]
    assert said == ["precision: fp32 (train.amp=fp16: fp32 on the CPU, which has no fast fp16)",
                    "precision: fp32 (--amp=off)",
                    "precision: bf16 (--amp=bf16: the CPU has native bf16 (avx512_bf16))"]
    probability = {name: pd.read_csv(tmp_path / name / "predictions.csv")["max_probability"].iloc[0]
                   for name in ("fp16", "fp32", "bf16")}
    assert probability["fp16"] == probability["fp32"] and probability["bf16"] == pytest.approx(probability["fp32"],
                                                                                              abs=0.05)
    assert run_cli(monkeypatch, "predict", "--run", str(fp16_run), "--input", str(image), "--out",
                   str(tmp_path / "bad"), "--amp", "half") == 2


def test_sub_folders_and_other_files_beside_the_inputs_are_listed_as_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "b.png").write_bytes(b"")
    inputs = collect_inputs(tmp_path)
    assert inputs.images == [tmp_path / "a.png"]
    assert inputs.skipped == [tmp_path / "more", tmp_path / "notes.txt"]


def _channels_last(model: torch.nn.Module) -> bool:
    """Whether the 3x3 convolutions' weights are laid out channels-last (1x1 ones are either format)."""
    weights = [p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[-1] > 1]
    assert weights
    return all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)


def test_inference_models_are_channels_last_where_training_was(run_dir: Path, tmp_path: Path) -> None:
    """train.channels_last holds for `predict` and for the run's own test scoring (fold models, ensemble)."""
    assert not any(_channels_last(m) for m in load_run(run_dir, torch.device("cpu")).models)
    run = _copy(run_dir, tmp_path)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["train"]["channels_last"] = True
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    loaded = load_run(run, torch.device("cpu"))
    assert len(loaded.models) == 2 and all(_channels_last(m) for m in loaded.models)
    cfg = read_cell_config(run)
    models = pipeline.load_fold_models(cfg, pipeline.prepare_data(cfg), run, torch.device("cpu"))
    assert len(models) == 2 and all(_channels_last(m) for m in models)
    image = torch.rand(1, cfg.input.channels, 32, 32)
    with torch.no_grad():  # the same weights, the same output
        assert torch.allclose(models[0](image), load_run(run_dir, torch.device("cpu")).models[0](image), atol=1e-5)
