"""The train-on x test-on matrix's reading order: test sets by name, each model's single-dataset rows in
the columns' order (so its diagonal lines up), then its pools; the model named on its first row only."""

from __future__ import annotations

import pandas as pd

from busbench.report.names import key_title
from busbench.report.tables.train_test_matrix import matrix_axes, matrix_display


def _entry(model: str, trained_on: str, tested_on: str, dice: float, seen: int = 0) -> dict[str, object]:
    return {"model": model, "trained_on": trained_on, "tested_on": tested_on, "dice_mean": dice,
            "dice_ci_low": dice - 0.1, "dice_ci_high": dice + 0.1, "images": 20, "seen_dropped": seen}


ENTRIES = pd.DataFrame([
    _entry("U-Net", "BUSI + BUS-BRA", "BUSI", 0.7), _entry("U-Net", "BUSI + BUS-BRA", "BUS-BRA", 0.8),
    _entry("U-Net", "BUSI", "BUSI", 0.75), _entry("U-Net", "BUSI", "BUS-BRA", 0.5, seen=3),
    _entry("U-Net", "BUS-BRA", "BUS-BRA", 0.85), _entry("U-Net", "BUS-BRA", "BUSI", 0.4),
    _entry("CMUNeXt", "UDIAT + BUSI", "BUSI", 0.6),
])


def test_rows_put_single_datasets_on_the_diagonal_then_pools_and_columns_by_name() -> None:
    rows, columns = matrix_axes(ENTRIES)
    assert columns == ["BUS-BRA", "BUSI"]
    assert rows == [("U-Net", "BUS-BRA"), ("U-Net", "BUSI"), ("U-Net", "BUSI + BUS-BRA"), ("CMUNeXt", "UDIAT + BUSI")]


def test_the_shown_matrix_names_each_model_once_and_leaves_unscored_cells_empty() -> None:
    shown = matrix_display(ENTRIES)
    assert shown.columns.tolist() == ["Model", "Trained on", "BUS-BRA", "BUSI"]
    assert shown["Model"].tolist() == ["U-Net", "", "", "CMUNeXt"]
    assert shown["Trained on"].tolist() == ["BUS-BRA", "BUSI", "BUSI + BUS-BRA", "UDIAT + BUSI"]
    assert shown.loc[1, "BUS-BRA"] == "0.500 [0.400, 0.600] n=20 (3 seen)"
    assert shown.loc[0, "BUS-BRA"] == "0.850 [0.750, 0.950] n=20"
    assert shown.loc[3, "BUS-BRA"] == "" and shown.loc[3, "BUSI"] == "0.600 [0.500, 0.700] n=20"


def test_a_test_set_known_only_by_its_folder_key_is_named_by_its_dataset() -> None:
    assert key_title("busbra-6264a9ed") == "BUS-BRA" and key_title("busi-bd27b6e5") == "BUSI"
    assert key_title("mystery-12345678") == "mystery-12345678"  # no adapter: the key is all there is
