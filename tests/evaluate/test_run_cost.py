"""`busbench profile --run`: each cell's rows measured as its inference runs them (tiny models, 32 px,
one timed run: the values are checked, never the timings)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from cli_runner import run_cli

from busbench.config import load_config
from busbench.errors import BusbenchError
from busbench.evaluate import run_cost
from busbench.evaluate.run_cost import COST_PROFILE_CSV, RowComputation, profile_run, trained_cells
from busbench.models import build_model, count_parameters
from busbench.models.profile import Timing, count_flops, published_macs

QUICK = Timing(warmup=0, iterations=1, seconds=0.0)
WIDTH_4 = ("model.name=unet", "model.kwargs={base_channels: 4}", "input.size=32", "input.channels=1",
           "eval.tta=[hflip, vflip]", "eval.batch_size=3", "train.amp=off")


def _cell(root: Path, settings: tuple[str, ...] = WIDTH_4, folds: int = 2, key: str = "unet_w4") -> Path:
    """A trained cell as `busbench run` lays it out: its config.yaml and ``folds`` fold folders."""
    cell = root / "exp" / "busi-1234" / key
    for fold in range(1, folds + 1):
        (cell / f"fold-{fold}").mkdir(parents=True)
        (cell / f"fold-{fold}" / "done.json").write_text("{}")
    (cell / "config.yaml").write_text(load_config(None, [f"output_dir={root}", *settings]).to_yaml())
    return cell


def _one_pass_flops() -> int:
    torch.manual_seed(0)
    return count_flops(build_model("unet", in_channels=1, base_channels=4).eval(), torch.zeros(1, 1, 32, 32))


def test_each_row_is_counted_and_timed_as_the_run_computes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cell(tmp_path)
    timed: list[tuple[int, tuple[str, ...], torch.dtype | None, int]] = []
    original = run_cost.images_per_second

    def recording(model: torch.nn.Module, x: torch.Tensor, timing: Timing, *args: object) -> float:
        assert isinstance(model, RowComputation)
        timed.append((len(model.networks), model.tta, model.dtype, x.shape[0]))
        return original(model, x, timing)

    monkeypatch.setattr(run_cost, "images_per_second", recording)
    table = profile_run(tmp_path / "exp", torch.device("cpu"), QUICK, lambda _: None).set_index("row")
    assert list(table.index) == ["fold models", "ensemble"]
    assert table["networks"].tolist() == [1, 2] and table["views"].tolist() == [3, 3]
    assert table["forward_passes"].tolist() == [3, 6]
    # the FLOPs of the whole row's computation, counted on it, equal its passes x one model's pass
    one_pass = _one_pass_flops()
    assert table.loc["fold models", "gflops_per_image"] == pytest.approx(3 * one_pass / 1e9)
    assert table.loc["ensemble", "gflops_per_image"] == pytest.approx(6 * one_pass / 1e9)
    # the published column: one pass at 224 px, never multiplied by the passes
    assert table["gmacs_224_one_pass"].tolist() == pytest.approx([published_macs("unet", 1, base_channels=4)[0]] * 2)
    # model.kwargs honoured: the width-4 U-Net, not the default one
    width_4 = count_parameters(build_model("unet", in_channels=1, base_channels=4)) / 1e6
    assert width_4 < count_parameters(build_model("unet", in_channels=1)) / 1e6
    assert table["params_m_held"].tolist() == pytest.approx([width_4, 2 * width_4])
    assert table["precision"].tolist() == ["fp32", "fp32"] and table["batch"].tolist() == [3, 3]
    assert table["model_kwargs"].tolist() == ['{"base_channels": 4}'] * 2
    assert table["tta"].tolist() == ["hflip,vflip"] * 2
    # the ensemble itself was timed (2 networks, its views), at batch 1 and at eval.batch_size
    assert timed == [(1, ("hflip", "vflip"), None, 1), (1, ("hflip", "vflip"), None, 3),
                     (2, ("hflip", "vflip"), None, 1), (2, ("hflip", "vflip"), None, 3)]
    assert (table["fps"] > 0).all()


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_the_run_precision_is_the_one_inference_resolves(tmp_path: Path, cpu_bf16, native: bool,
                                                         expected: str) -> None:
    """train.amp=auto on this CPU: bf16 where it computes bf16 natively, else fp32, as the run inferred."""
    cpu_bf16(native)
    _cell(tmp_path, (*WIDTH_4[:-1], "train.amp=auto"), folds=1)
    table = profile_run(tmp_path, torch.device("cpu"), QUICK, lambda _: None)
    assert table["row"].tolist() == ["fold models"]  # one fold model: no ensemble to measure
    assert table["precision"].tolist() == [expected]


def test_a_folder_without_a_trained_cell_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BusbenchError, match="no trained cell"):
        trained_cells(tmp_path)
    cell = _cell(tmp_path)
    assert [(c.id, c.networks) for c in trained_cells(cell)] == [("busi-1234/unet_w4", 2)]


def test_cells_that_compute_alike_are_measured_once(tmp_path: Path) -> None:
    """The seeds of one model (cells of their own) run the same computation; another TTA does not."""
    for key in ("unet_w4-seed0", "unet_w4-seed1"):
        _cell(tmp_path, folds=1, key=key)
    _cell(tmp_path, (*WIDTH_4, "eval.tta=[]"), folds=1, key="plain")
    table = profile_run(tmp_path, torch.device("cpu"), QUICK, lambda _: None)
    assert table["cell"].tolist() == ["busi-1234/plain", "busi-1234/unet_w4-seed0"]
    assert table["views"].tolist() == [1, 3]


def test_profile_command_run_and_kwargs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _cell(tmp_path / "runs")
    quick = ["--iterations", "1", "--seconds", "0", "--device", "cpu"]
    assert run_cli(monkeypatch, "profile", "--run", str(tmp_path / "runs" / "exp"), *quick, "--out",
                   str(tmp_path / "prof")) == 0
    rows = pd.read_csv(tmp_path / "prof" / COST_PROFILE_CSV)
    assert rows["row"].tolist() == ["fold models", "ensemble"] and rows["device"].tolist() == ["cpu", "cpu"]
    capsys.readouterr()
    for extra in (["--model", "unet"], ["--amp", "off"], ["--size", "32"]):
        assert run_cli(monkeypatch, "profile", "--run", str(tmp_path / "runs"), *extra, *quick) == 2
        assert "--run profiles each cell as its config built it" in capsys.readouterr().err
    assert run_cli(monkeypatch, "profile", "--model", "unet", "--size", "32", "--channels", "1", "--batch", "1",
                   "--kwargs", "{base_channels: 4}", *quick, "--amp", "off", "--out", str(tmp_path / "single")) == 0
    single = pd.read_csv(tmp_path / "single" / "profile.csv").iloc[0]
    width_4 = count_parameters(build_model("unet", in_channels=1, base_channels=4)) / 1e6
    assert single["params_m"] == pytest.approx(width_4, abs=1e-4) and single["kwargs"] == '{"base_channels": 4}'
    capsys.readouterr()
    for bad, says in (("[8]", "not a mapping"), ("{a: [", "not YAML")):
        assert run_cli(monkeypatch, "profile", "--model", "unet", "--kwargs", bad, *quick) == 2
        assert says in capsys.readouterr().err
    assert run_cli(monkeypatch, "profile", "--model", "unet", "--model", "unext", "--kwargs", "{base_channels: 4}",
                   *quick) == 2
    assert "--kwargs '{base_channels: 4}' needs one --model (they are that model's arguments); given 2" in " ".join(
        capsys.readouterr().err.split())


def test_a_config_is_profiled_as_its_cells_would_run(tmp_path: Path) -> None:
    """An experiment file before it has run: each of its cells with split.folds fold models; its seeds alike."""
    config = tmp_path / "experiment.yaml"
    config.write_text("model: {name: unet, kwargs: {base_channels: 4}}\ninput: {size: 32, channels: 1}\n"
                      "split: {folds: 3}\ntrain: {seeds: [0, 1], amp: 'off'}\neval: {tta: [hflip]}\n")
    cells = trained_cells(config)
    assert [c.networks for c in cells] == [3, 3] and [c.id.split("-")[-1] for c in cells] == ["seed0", "seed1"]
    assert cells[0].id == f"{cells[0].config.data.key()}/{cells[0].config.cell_key()}"  # as `busbench run` names it
    table = profile_run(config, torch.device("cpu"), QUICK, lambda _: None)
    assert table["networks"].tolist() == [1, 3] and table["forward_passes"].tolist() == [2, 6]
    assert set(table["cell"]) == {cells[0].id}  # the seeds compute alike: measured once
