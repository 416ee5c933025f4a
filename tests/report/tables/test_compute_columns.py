"""The report's compute columns: GFLOPs per image of what a row runs, one pass's MACs at 224 px (the
published convention), and images/s measured of the row itself (``busbench profile --run``)."""

from __future__ import annotations

import pandas as pd
import pytest
from fake_results import write_run

from busbench.report.build import build_report
from busbench.report.tables.publication import cost_notes, cost_table, to_markdown

LABEL_224 = "GMACs @224, 1 pass (published)"
LABEL_GFLOPS = "GFLOPs per image (as run)"


def test_report_shows_both_conventions_with_their_labels(tmp_path) -> None:
    root = tmp_path / "runs"
    write_run(root, "busi", "unext_run", {1: [0.8] * 4, 2: [0.7] * 4}, ["benign"] * 4)
    build_report(root, tmp_path / "out", qualitative=False)
    csv = pd.read_csv(tmp_path / "out" / "tables" / "busi.csv")
    row = csv.iloc[0]
    # UNeXt is convolutions and per-pixel token MLPs only: its multiply-adds grow with the pixel count,
    # so the 224 px count is the 64 px count (GFLOPs / 2) times (224 / 64)^2.
    assert row["macs_g_224"] == pytest.approx(row["gflops"] / 2 * (224 / 64) ** 2, rel=1e-4)  # CSV: 6 digits
    assert row["size_224"] == 224
    markdown = (tmp_path / "out" / "tables" / "busi_cost.md").read_text()
    lines = markdown.splitlines()
    header = next(line for line in lines if line.startswith("| Model |"))
    assert f"| {LABEL_GFLOPS} |" in header and f"| {LABEL_224} |" in header and "| Params (M, held) |" in header
    cells = lines[lines.index(header) + 2].split(" | ")
    assert cells[header.split(" | ").index(LABEL_224)] == f"**{row['macs_g_224']:.2f}**"  # the only row is the best
    assert "what published BUS tables (thop) call GFLOPs" in markdown
    assert "nearest side" not in markdown


def test_a_model_counted_at_another_side_says_so() -> None:
    table = pd.DataFrame({
        "model": ["medt", "unext"], "dice_mean": [0.7, 0.8], "dice_std": [0.01, 0.02], "ci": ["95 % bootstrap"] * 2,
        "degenerate_folds": [0, 0], "folds": [5, 5], "params_m": [1.4, 1.5], "gflops": [4.0, 0.5],
        "macs_g_224": [2.66, 0.43], "size_224": [256, 224], "fps": [None, 30.0], "variant": "fold models",
        "forward_passes": [1, 1], "fps_precision": [None, "bf16"], "fps_device": [None, "cuda"],
        "fps_note": ["not measured: run `busbench profile --run`", "measured"],
        **{f"{m}_{s}": [0.5, 0.5] for m in ("iou", "hd95", "precision", "recall") for s in ("mean", "std")},
        **{f"{m}_ci_{s}": [0.4, 0.6] for m in ("dice", "hd95") for s in ("low", "high")},
    })
    markdown = to_markdown(cost_table(table, ("**", "**")), cost_notes(table))
    medt_row, unext_row = markdown.splitlines()[2], markdown.splitlines()[3]
    assert "2.66 @256" in medt_row and "**0.43**" in unext_row and "@224" not in unext_row
    assert "(medt at 256 px: the nearest side the model takes)" in markdown
    assert medt_row.endswith("| – |") and "medt: not measured: run `busbench profile --run`." in markdown
    assert "| Images/s (measured, bf16, cuda) |" in markdown.splitlines()[0]  # what the measured rows share


def _profiled() -> pd.DataFrame:
    """cost_profile.csv rows of a width-8 U-Net at 1 x 32 x 32 with hflip TTA (`busbench profile --run`)."""
    row = {"cell": "busi-1/unet_w8", "model": "unet", "model_kwargs": '{"base_channels": 8}', "input": "1x32x32",
           "tta": "hflip", "precision": "bf16", "device": "cuda", "device_name": "NVIDIA H100", "batch": 16}
    return pd.DataFrame([{**row, "row": "fold models", "networks": 1, "fps": 500.0},
                         {**row, "row": "ensemble", "networks": 5, "fps": 130.0}])


def test_measured_rows_apply_only_to_the_variant_they_measured() -> None:
    from busbench.config import load_config
    from busbench.report.tables.complexity import model_cost

    settings = ["model.name=unet", "input.size=32", "input.channels=1", "eval.tta=[hflip]"]
    narrow = load_config(None, [*settings, "model.kwargs.base_channels=8"])
    cost = model_cost(narrow, _profiled())
    assert (cost["fps"], cost["fps_ensemble"], cost["ensemble_networks"]) == (500.0, 130.0, 5)
    assert (cost["fps_precision"], cost["fps_device"]) == ("bf16", "cuda")
    assert cost["fps_note"] == ("measured by busbench profile --run at batch 16 (eval.batch_size), bf16, "
                                "cuda (NVIDIA H100)")
    unmeasured = [load_config(None, settings),  # the default width: another variant
                  load_config(None, [*settings, "model.kwargs.base_channels=8", "input.size=64"]),
                  load_config(None, [*settings[:-1], "model.kwargs.base_channels=8"])]  # no TTA: fewer passes
    for config in unmeasured:
        missing = model_cost(config, _profiled())
        assert missing["fps"] is None and missing["fps_ensemble"] is None
        assert missing["fps_note"] == ("not measured: run `busbench profile --run <run folder> --out "
                                       "<results folder>/profile`")
    assert model_cost(narrow, pd.DataFrame())["fps"] is None


def test_rows_count_their_passes_and_keep_their_measured_throughput() -> None:
    from busbench.report.tables.complexity import row_cost

    single = {"params_m": 1.5, "gflops": 0.25, "macs_g_224": 0.4, "size_224": 224, "fps": 80.0, "fps_ensemble": 9.0,
              "ensemble_networks": 5, "fps_precision": "fp32", "fps_device": "cpu", "fps_note": "x"}
    assert row_cost(single, 1, 2) == {"params_m": 1.5, "gflops": 0.5, "macs_g_224": 0.4, "size_224": 224,
                                      "fps": 80.0, "fps_precision": "fp32", "fps_device": "cpu", "fps_note": "x",
                                      "networks": 1, "views": 2, "forward_passes": 2}
    ensemble = row_cost(single, 5, 2)
    assert ensemble["forward_passes"] == 10 and ensemble["gflops"] == pytest.approx(2.5)
    assert ensemble["macs_g_224"] == 0.4  # the published convention: one pass, whatever the row runs
    assert ensemble["params_m"] == pytest.approx(7.5) and ensemble["fps"] == 9.0  # measured, not 80 / 10
    other = row_cost(single, 3, 2)  # an ensemble of another size than the one measured
    assert other["fps"] is None and "the profile's ensemble holds 5 networks, this row 3" in str(other["fps_note"])
