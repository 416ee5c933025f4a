"""`export onnx --ensemble --quantize int8`: the one-file ensemble, the settings inside each file, the
reference NumPy/OpenCV script and the int8 gate, each against busbench's PyTorch predictions."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest
import torch
from cli_runner import run_cli
from PIL import Image
from real_data import real_dataset

from busbench.cli.exports import export_onnx
from busbench.deploy import busbench_postprocess, onnx_export
from busbench.deploy.int8_gate import INT8_TOLERANCE, held_out_cases
from busbench.deploy.onnx_graphs import PROBABILITY_NAME, Shapes, export_fold, onnx_bytes, shapes_for
from busbench.deploy.onnx_runtime import OUTPUT_NAME
from busbench.evaluate.postprocess import PostProcessing
from busbench.evaluate.predict import load_run, predict_image
from busbench.metrics.per_image import dice_score
from busbench.models import available_models, build_model
from busbench.models.registry import resolve_model

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
TTA = ["hflip", "rot180"]  # the run's (conftest)


@pytest.fixture(scope="module")
def bundle(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "onnx"
    assert run_cli(pytest.MonkeyPatch(), "export", "onnx", str(run_dir), "--out", str(out), "--ensemble",
                   "--quantize", "int8", "--int8-tolerance", "1") == 0
    return out


def reference_module(folder: Path) -> ModuleType:
    """The shipped script, loaded from the export folder as a user would (not busbench's copy)."""
    spec = importlib.util.spec_from_file_location("shipped_postprocess", folder / onnx_export.REFERENCE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def session(path: Path) -> object:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_ensemble_file_holds_the_settings_and_matches_pytorch(run_dir: Path, bundle: Path) -> None:
    ensemble = session(bundle / "ensemble.onnx")
    meta = ensemble.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    spec = json.loads(meta["busbench"])
    chosen = json.loads((run_dir / "postprocessing.json").read_text())
    assert spec["input"]["size"] == 32 and spec["input"]["normalisation"].startswith("pixel value / 255")
    assert spec["threshold"] == 0.5 and spec["tta"] == ["hflip", "rot180"] and spec["tta_in_graph"] is True
    assert spec["postprocessing"] == chosen["postprocessing"] and spec["busbench_version"]
    assert spec["test_set_sha256"] == chosen["provenance"]["test_set_sha256"] and len(spec["test_set_sha256"]) == 64
    assert meta["threshold"] == "0.5" and meta["input_size"] == "32" and meta["role"] == "ensemble with TTA views"
    assert spec["output"]["name"] == PROBABILITY_NAME and "odd pixel" in spec["input"]["resize_means"]
    fold = json.loads(session(bundle / "fold-1.onnx").get_modelmeta().custom_metadata_map["busbench"])  # type: ignore[attr-defined]
    assert fold["tta_in_graph"] is False and fold["output"]["name"] == OUTPUT_NAME

    # the run's test set: PyTorch's ensemble (busbench predict) against the one-file ONNX ensemble
    trained, reference = load_run(run_dir, torch.device("cpu")), reference_module(bundle)
    cases = held_out_cases(run_dir)
    assert len(cases) >= 4
    torch_dice, onnx_dice = [], []
    for image, truth in cases:
        _, torch_mask = predict_image(trained, image, torch.device("cpu"), TTA)
        _, onnx_mask = reference.predict([ensemble], image)
        assert 0.0 < torch_mask.mean() < 1.0  # a mask with an edge: the 1-epoch models' probabilities are all
        assert dice_score(onnx_mask, torch_mask) >= 1 - 1e-3  # near 0.5, so any drift would flip pixels
        torch_dice.append(dice_score(torch_mask, truth))
        onnx_dice.append(dice_score(onnx_mask, truth))
    assert abs(np.mean(torch_dice) - np.mean(onnx_dice)) < 1e-3


def test_the_reference_script_imports_only_numpy_and_opencv(bundle: Path, tmp_path: Path, images: Path,
                                                             run_dir: Path) -> None:
    script = bundle / onnx_export.REFERENCE_SCRIPT
    imported = {alias.name.split(".")[0] for node in ast.parse(script.read_text()).body
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert imported == {"__future__", "json", "sys", "typing", "cv2", "numpy"}  # no busbench, no torch
    assert script.read_bytes() == Path(busbench_postprocess.__file__).read_bytes()  # the tested module, shipped
    scan = sorted(images.glob("*.png"))[0]
    assert reference_module(bundle).main([str(bundle / "ensemble.onnx"), str(scan), str(tmp_path / "mask.png")]) == 0
    trained = load_run(run_dir, torch.device("cpu"))
    expected = predict_image(trained, np.array(Image.open(scan).convert("L")), torch.device("cpu"), TTA)[1]
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "mask.png")) > 0, expected)


def check_reference(run_dir: Path, bundle: Path, scans: list[Path]) -> None:
    """The shipped script's probabilities and masks against busbench predict's (PyTorch), with the ensemble
    file and with the fold files."""
    reference, trained = reference_module(bundle), load_run(run_dir, torch.device("cpu"))
    ensemble = [session(bundle / "ensemble.onnx")]
    folds = [session(bundle / f"fold-{k}.onnx") for k in (1, 2)]
    for path in scans:
        image = np.array(Image.open(path).convert("L"))
        probability, expected = predict_image(trained, image, torch.device("cpu"), TTA)
        assert 0.02 < expected.mean() < 0.98, path  # a mask with an edge, so post-processing matters
        for sessions in (ensemble, folds):
            got_probability, got = reference.predict(sessions, image)
            np.testing.assert_allclose(got_probability, probability, atol=1e-5)
            assert (got == expected).mean() >= 0.999 and dice_score(got, expected) == pytest.approx(1.0, abs=1e-3)
        np.testing.assert_array_equal(reference.read_image(str(path), 1), image)


def test_the_reference_script_reproduces_predict_on_odd_sized_scans(run_dir: Path, images: Path,
                                                                     bundle: Path) -> None:
    check_reference(run_dir, bundle, sorted(images.glob("*.png")))


def test_the_reference_script_reproduces_predict_on_busi(run_dir: Path, bundle: Path) -> None:
    busi = real_dataset("Dataset_BUSI_with_GT")
    scans = [busi / "benign" / f"benign ({i}).png" for i in (1, 2, 3)] + [busi / "malignant" / "malignant (1).png"]
    assert {Image.open(p).size for p in scans} != {(256, 256)}  # letterboxed: padding, odd pixels, resizing back
    check_reference(run_dir, bundle, scans)


def test_int8_is_written_with_its_test_dice_and_a_card(bundle: Path) -> None:
    spec = json.loads((bundle / "busbench_onnx.json").read_text())
    report = spec["int8"]
    assert report["test_images"] >= 4 and report["tolerance"] == 1.0
    assert report["dice_change"] == pytest.approx(report["int8_mean_dice"] - report["fp32_mean_dice"])
    for name in ("ensemble", "fold-1", "fold-2"):
        assert (bundle / f"{name}.int8.onnx").stat().st_size < (bundle / f"{name}.onnx").stat().st_size / 2
        int8 = onnx.load(str(bundle / f"{name}.int8.onnx"))
        assert "ConvInteger" in {node.op_type for node in int8.graph.node}
        settings = {entry.key: entry.value for entry in int8.metadata_props}
        assert json.loads(settings["busbench"])["threshold"] == 0.5 and settings["role"].endswith("int8")
    card = (bundle / "MODEL_CARD.md").read_text()
    assert f"| change | {report['dice_change']:+.4f} |" in card and "ensemble.int8.onnx" in card
    assert spec["test_set_sha256"] in card and "fill_holes (background 4-connectivity)" in card
    assert spec["ensemble_model"] == "ensemble.onnx" and spec["models"] == ["fold-1.onnx", "fold-2.onnx"]


class _Blind(torch.nn.Module):
    """An "int8" ensemble that sees no lesion anywhere (probability 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] * 0.0


def test_int8_that_costs_more_dice_than_the_tolerance_is_refused(run_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    blind = {name: onnx_bytes(_Blind(), Shapes(1, 32, None), "blind", name, dynamic=False)
             for name in (PROBABILITY_NAME, OUTPUT_NAME)}  # the ensemble's output, a fold's
    monkeypatch.setattr(onnx_export, "quantize_int8",
                        lambda data: blind[onnx.load_from_string(data).graph.output[0].name])
    # the 1-epoch models miss the synthetic lesions (Dice 0): score against their own masks instead, so that
    # fp32 has a Dice to lose
    trained = load_run(run_dir, torch.device("cpu"))
    own = [(image, predict_image(trained, image, torch.device("cpu"), TTA)[1]) for image, _ in held_out_cases(run_dir)]
    monkeypatch.setattr(onnx_export, "held_out_cases", lambda run: own)
    monkeypatch.setenv("COLUMNS", "300")
    out = tmp_path / "onnx"
    assert run_cli(monkeypatch, "export", "onnx", str(run_dir), "--out", str(out), "--ensemble",
                   "--quantize", "int8") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--quantize int8: the mean test Dice falls by 1.0000 (fp32 1.0000, int8 0.0000 on 9 test images)" in err
    assert f"more than --int8-tolerance {INT8_TOLERANCE:g}" in err and "Nothing was written" in err
    assert not out.exists()
    # without --ensemble the fold files are checked (logits 0: probability 0.5, all lesion)
    assert run_cli(monkeypatch, "export", "onnx", str(run_dir), "--out", str(out), "--quantize", "int8") == 2
    assert "--quantize int8: the mean test Dice falls by" in " ".join(capsys.readouterr().err.split())
    assert not out.exists()
    assert inspect.signature(export_onnx).parameters["int8_tolerance"].default == INT8_TOLERANCE
    assert run_cli(monkeypatch, "export", "onnx", str(run_dir), "--out", str(out), "--quantize", "fp8") == 2
    assert "--quantize 'fp8': choose int8" in " ".join(capsys.readouterr().err.split())


def test_an_export_into_a_folder_of_another_export_is_refused(bundle: Path, run_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Its ensemble and int8 files would stay beside the new ones and be taken for this run's."""
    before = sorted(p.name for p in bundle.iterdir())
    capsys.readouterr()
    assert run_cli(monkeypatch, "export", "onnx", str(run_dir), "--out", str(bundle)) == 2
    assert f"--out {bundle}: not empty; give a new folder" in " ".join(capsys.readouterr().err.split())
    assert sorted(p.name for p in bundle.iterdir()) == before


def test_spatial_axes_are_dynamic_where_the_model_allows(bundle: Path) -> None:
    spec = json.loads((bundle / "busbench_onnx.json").read_text())
    assert spec["input"]["shape"] == ["batch", 1, "height", "width"]
    assert spec["input"]["spatial_axes"] == ("dynamic: any side the architecture takes; busbench trained and "
                                             "scored at 32 x 32")  # input.size of the bundle's run
    fold = session(bundle / "fold-1.onnx")
    for height, width in ((128, 128), (96, 64)):
        pixels = np.random.default_rng(0).random((1, 1, height, width), dtype=np.float32)
        assert fold.run([OUTPUT_NAME], {"image": pixels})[0].shape == (1, 1, height, width)  # type: ignore[attr-defined]
    assert shapes_for("unet", 1, 32).other == (32 + resolve_model("unet").size_multiple, 32)


class _FixedSize(torch.nn.Module):
    """A network with the traced side inside (a 32 x 32 weight): dynamic axes cannot hold for it."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(-1, 1, 32 * 32).reshape(1, 1, 32, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1] * self.weight


def test_a_model_that_fails_at_another_shape_is_exported_fixed() -> None:
    exported = export_fold(_FixedSize(), Shapes(1, 32, (64, 32)), "fixed", OUTPUT_NAME)
    assert not exported.dynamic and exported.difference <= 1e-4
    runtime = ort.InferenceSession(exported.data, providers=["CPUExecutionProvider"])
    assert [dim for dim in runtime.get_inputs()[0].shape] == ["batch", 1, 32, 32]


def random_masks(count: int) -> list[np.ndarray]:
    """Blurred-noise masks of odd sizes: many components, holes, lesions touching the border, diagonal
    contacts, so that every connectivity and border rule shows."""
    rng = np.random.default_rng(0)
    masks = []
    for _ in range(count):
        height, width = (int(side) for side in rng.integers(20, 90, 2))
        blurred = cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), rng.uniform(0.5, 3))
        masks.append(blurred > np.quantile(blurred, rng.uniform(0.3, 0.9)))
    return masks


@pytest.mark.parametrize("post", [PostProcessing(fill_holes=True), PostProcessing(min_area_fraction=0.005),
                                  PostProcessing(keep_largest=True), PostProcessing(boundary_median=3),
                                  PostProcessing(boundary_median=7), PostProcessing(True, 0.001, True, 5)],
                         ids=lambda post: post.describe())
def test_the_reference_postprocessing_is_busbenchs(post: PostProcessing) -> None:
    masks = random_masks(150)
    changed = sum(not np.array_equal(post.apply(mask), mask) for mask in masks)
    assert changed >= 50  # the step does something on these masks
    for mask in masks:
        np.testing.assert_array_equal(busbench_postprocess.postprocess(mask, asdict(post)), post.apply(mask))


def test_a_registered_model_with_a_traced_size_falls_back_without_noise(capfd: pytest.CaptureFixture[str]) -> None:
    entry = available_models()["swin_unet"]  # its window attention indexes a table sized for the traced side
    torch.manual_seed(0)
    model = build_model("swin_unet", in_channels=1, **entry.test_kwargs).eval()
    exported = export_fold(model, shapes_for("swin_unet", 1, 32), "swin_unet", OUTPUT_NAME)
    assert not exported.dynamic and exported.difference <= 1e-4
    assert "onnxruntime" not in capfd.readouterr().err  # the failing trial run logs nothing
