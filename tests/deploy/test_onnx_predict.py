"""`busbench export onnx` + `predict --engine onnxruntime` give PyTorch's masks; `profile --engine onnxruntime`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from cli_runner import command_options, named_options, run_cli
from PIL import Image

from busbench.deploy.engines import load_trained
from busbench.deploy.onnx_export import load_onnx_run
from busbench.deploy.onnx_graphs import OPSET
from busbench.errors import BusbenchError
from busbench.layout.folders import DONE, ONNX_JSON

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def test_onnxruntime_predicts_pytorchs_masks(run_dir: Path, images: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    exported = tmp_path / "onnx"
    assert run_cli(monkeypatch, "export", "onnx", str(run_dir), "--out", str(exported)) == 0
    assert f"ONNX opset {OPSET}, dynamic batch" in capsys.readouterr().out
    spec = json.loads((exported / ONNX_JSON).read_text())
    assert spec["models"] == ["fold-1.onnx", "fold-2.onnx"] and spec["opset"] == OPSET
    assert spec["input"]["size"] == 32 and spec["input"]["channels"] == 1 and spec["input"]["resize"] == "letterbox"
    assert spec["input"]["white_level"] == 255  # the run's training images' (8-bit), for predict to scale alike
    assert spec["tta"] == ["hflip", "rot180"] and all(spec["postprocessing"].values())  # every step on (conftest)
    assert spec["postprocessing"] == json.loads((run_dir / "postprocessing.json").read_text())["postprocessing"]
    assert max(spec["max_probability_difference"].values()) <= 1e-4
    assert all((exported / name).is_file() for name in spec["models"])

    for engine, extra in (("pytorch", ["--run", str(run_dir)]), ("onnxruntime", ["--run", str(exported)])):
        assert run_cli(monkeypatch, "predict", *extra, "--engine", engine, "--input", str(images),
                       "--out", str(tmp_path / engine)) == 0
    # the exported models compute in fp32 whatever the run trained in: said so, not blamed on train.amp
    assert "precision: fp32 (ONNX Runtime runs the exported fp32 models)" in capsys.readouterr().out
    for i in range(3):
        torch_mask = np.array(Image.open(tmp_path / "pytorch" / "masks" / f"scan{i}.png"))
        runtime_mask = np.array(Image.open(tmp_path / "onnxruntime" / "masks" / f"scan{i}.png"))
        np.testing.assert_array_equal(runtime_mask, torch_mask)
    tables = [pd.read_csv(tmp_path / engine / "predictions.csv") for engine in ("pytorch", "onnxruntime")]
    assert tables[0]["lesion_area_fraction"].between(0.05, 0.95).all()  # the masks compared are not trivial
    np.testing.assert_allclose(tables[1]["max_probability"], tables[0]["max_probability"], atol=1e-5)
    np.testing.assert_allclose(tables[1]["mean_lesion_probability"], tables[0]["mean_lesion_probability"], atol=1e-5)

    loaded = load_onnx_run(exported, torch.device("cpu"))
    assert len(loaded.models) == 2 and loaded.config.evaluation.tta == ["hflip", "rot180"] and loaded.white_level == 255


def test_engine_errors_are_one_line(run_dir: Path, images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the usage error's box on one line
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--engine", "tensorrt", "--input", str(images),
                   "--out", str(tmp_path / "x")) == 2
    assert "'tensorrt' is not one of 'pytorch', 'onnxruntime'" in capsys.readouterr().err
    with pytest.raises(BusbenchError, match=r"^--engine 'tensorrt': choose pytorch or onnxruntime$"):
        load_trained(run_dir, "tensorrt", torch.device("cpu"))  # the API's callers, without the command line
    assert run_cli(monkeypatch, "predict", "--run", str(run_dir), "--engine", "onnxruntime", "--input", str(images),
                   "--out", str(tmp_path / "x")) == 2
    assert f"no {ONNX_JSON}; with --engine onnxruntime, --run is a folder written by `busbench export onnx" \
        in " ".join(capsys.readouterr().err.split())
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if busbench[onnx] were not installed
    with pytest.raises(BusbenchError, match=r"pip install 'busbench\[onnx\]'$"):
        from busbench.deploy.onnx_export import export_run

        export_run(run_dir, tmp_path / "y")
    assert not (tmp_path / "y").exists()


def test_exporting_an_unfinished_run_suggests_only_options_export_onnx_has(
        run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "fold-2" / DONE).unlink()  # fold 2 still training
    assert run_cli(monkeypatch, "export", "onnx", str(run), "--out", str(tmp_path / "onnx")) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"error: {run}: unfinished run (fold-2 unfinished); finish it with `busbench run`" in err
    assert named_options(err) <= command_options("export", "onnx") and "--allow-partial" not in err
    assert run_cli(monkeypatch, "export", "onnx", str(run.parent), "--out", str(tmp_path / "onnx")) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "not a busbench run folder" in err and named_options(err) <= command_options("export", "onnx")
    assert not (tmp_path / "onnx").exists()


def test_profile_measures_onnxruntime_beside_pytorch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "profile", "--model", "unext", "--size", "32", "--batch", "2", "--iterations", "1",
                   "--seconds", "0.1", "--device", "cpu", "--engine", "onnxruntime", "--out", str(tmp_path)) == 0
    row = pd.read_csv(tmp_path / "profile.csv").iloc[0]
    assert row["onnxruntime_providers"] == "CPUExecutionProvider"  # the session's own list, not the one asked for
    for batch in (1, 2):
        assert row[f"onnxruntime_fps_batch{batch}"] > 0
        assert row[f"onnxruntime_speedup_batch{batch}"] == pytest.approx(
            row[f"onnxruntime_fps_batch{batch}"] / row[f"fps_batch{batch}"], rel=1e-3)


def test_profile_measures_onnxruntime_on_the_variant_the_kwargs_give(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from busbench.deploy import engines
    from busbench.models import build_model, count_parameters

    exported: list[int] = []
    export = engines.export_checked

    def recording(model: torch.nn.Module, *args: object) -> object:
        exported.append(count_parameters(model))
        return export(model, *args)

    monkeypatch.setattr(engines, "export_checked", recording)
    assert run_cli(monkeypatch, "profile", "--model", "unet", "--kwargs", "{base_channels: 4}", "--size", "32",
                   "--batch", "1", "--channels", "1", "--iterations", "1", "--seconds", "0", "--device", "cpu",
                   "--engine", "onnxruntime") == 0
    assert exported == [count_parameters(build_model("unet", in_channels=1, base_channels=4))]
