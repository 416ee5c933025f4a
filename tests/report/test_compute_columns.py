"""The report's compute columns in both conventions: GFLOPs at the run's size and MACs at 224 px."""

from __future__ import annotations

import pandas as pd
import pytest
from fake_results import write_run

from busbench.report.build import build_report
from busbench.report.tables.publication import cost_notes, cost_table, to_markdown

LABEL_224 = "MACs @224 (G)"


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
    assert "| GFLOPs |" in header and f"| {LABEL_224} |" in header
    cells = lines[lines.index(header) + 2].split(" | ")
    assert cells[header.split(" | ").index(LABEL_224)] == f"**{row['macs_g_224']:.2f}**"  # the only row is the best
    assert "what published BUS tables (thop) call GFLOPs" in markdown
    assert "nearest side" not in markdown


def test_a_model_counted_at_another_side_says_so() -> None:
    table = pd.DataFrame({
        "model": ["medt", "unext"], "dice_mean": [0.7, 0.8], "dice_std": [0.01, 0.02], "ci": ["95 % bootstrap"] * 2,
        "degenerate_folds": [0, 0], "folds": [5, 5], "params_m": [1.4, 1.5], "gflops": [4.0, 0.5],
        "macs_g_224": [2.66, 0.43], "size_224": [256, 224], "fps": [None, 30.0], "variant": "fold models",
        "forward_passes": [1, 1], "fps_note": ["not profiled: run `busbench profile --model medt`", "measured"],
        **{f"{m}_{s}": [0.5, 0.5] for m in ("iou", "hd95", "precision", "recall") for s in ("mean", "std")},
        **{f"{m}_ci_{s}": [0.4, 0.6] for m in ("dice", "hd95") for s in ("low", "high")},
    })
    markdown = to_markdown(cost_table(table, ("**", "**")), cost_notes(table))
    medt_row, unext_row = markdown.splitlines()[2], markdown.splitlines()[3]
    assert "2.66 @256" in medt_row and "**0.43**" in unext_row and "@224" not in unext_row
    assert "(medt at 256 px: the nearest side the model takes)" in markdown
    assert medt_row.endswith("| – |") and "medt: not profiled: run `busbench profile --model medt`." in markdown


def test_fps_of_a_profile_applies_only_to_the_default_model_of_that_name() -> None:
    from busbench.config import load_config
    from busbench.report.tables.complexity import model_cost

    profiles = pd.DataFrame({"model": ["unet"], "fps_batch1": [12.5], "input": ["1x32x32"], "device": ["cpu"]})
    default = load_config(None, ["model.name=unet", "input.size=32"])
    narrow = load_config(None, ["model.name=unet", "input.size=32", "model.kwargs.base_channels=8"])
    larger = load_config(None, ["model.name=unet", "input.size=64"])
    assert model_cost(default, profiles)["fps"] == 12.5
    assert model_cost(default, profiles)["fps_note"] == "busbench profile, batch 1, cpu"
    assert model_cost(narrow, profiles)["fps"] is None  # a width-8 U-Net is not the profiled one
    assert "not profiled: `busbench profile` measures unet's default" in str(model_cost(narrow, profiles)["fps_note"])
    assert model_cost(larger, profiles)["fps"] is None  # profiled at another input
    assert model_cost(larger, profiles)["fps_note"] == ("not profiled at 1x64x64: run `busbench profile --model unet "
                                                        "--size 64 --channels 1 --out <results folder>/profile`")
    assert model_cost(default, pd.DataFrame())["fps_note"].startswith("not profiled: run `busbench profile")


def test_ensemble_rows_count_k_times_v_forward_passes() -> None:
    from busbench.report.tables.complexity import row_cost

    single = {"params_m": 1.5, "gflops": 0.25, "macs_g_224": 0.4, "size_224": 224, "fps": 80.0, "fps_note": "x"}
    assert row_cost(single, 1, 2) == {**single, "networks": 1, "views": 2, "forward_passes": 2, "gflops": 0.5,
                                      "macs_g_224": 0.8, "params_m": 1.5, "fps": 40.0}
    ensemble = row_cost(single, 5, 2)
    assert ensemble["forward_passes"] == 10 and ensemble["gflops"] == pytest.approx(2.5)
    assert ensemble["params_m"] == pytest.approx(7.5) and ensemble["fps"] == pytest.approx(8.0)
