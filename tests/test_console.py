"""Tables print every value in full, into files and on narrow terminals alike."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd
from rich.console import Console

from busbench.console import print_frame

FRAME = pd.DataFrame({
    "dataset": ["synthetic-abcdef12", "busi-12345678"],
    "model": ["unet_efficientnet_b4-deadbeef", "cmunext_s"],
    "false_positive_rate_mean": [0.0125, 0.2],
})


def printed(width: int, terminal: bool) -> str:
    buffer = io.StringIO()
    print_frame(FRAME, "Held-out test set", index=False,
                out=Console(file=buffer, width=width, force_terminal=terminal, color_system=None))
    return buffer.getvalue()


def test_a_file_gets_the_whole_table_at_its_natural_width() -> None:
    text = printed(width=40, terminal=False)
    rows = [line for line in text.splitlines() if "synthetic" in line]
    assert len(rows) == 1 and "synthetic-abcdef12" in rows[0] and "unet_efficientnet_b4-deadbeef" in rows[0]
    assert "false_positive_rate_mean" in text and "…" not in text


def test_a_narrow_terminal_folds_values_instead_of_cutting_them() -> None:
    text = printed(width=40, terminal=True)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 40
    model_cells = "".join(line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 4)
    assert "unet_efficientnet_b4-deadbeef" in model_cells  # every character kept, folded over lines
    header = next(line for line in text.splitlines() if "dataset" in line)
    assert header.index("dataset") == 2  # text columns left-aligned (pandas' str dtype is not object)


def test_a_long_message_into_a_pipe_stays_on_one_line() -> None:
    """A path or a command to copy must not be broken across lines in a log file (it was, past 160 columns)."""
    message = "written: /" + "long-folder/" * 20 + "busbench_onnx.json (ONNX opset 17, dynamic batch)"
    code = (f"from busbench.console import console, err_console; console.print({message!r}); "
            "err_console.print('e ' * 200)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == message + "\n"
    assert done.stderr.count("\n") == 1
