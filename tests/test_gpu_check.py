"""benchmarks/gpu_check.sh fits a short GPU slot: its parts, their times and arguments, checked without a GPU."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
PARTS = ["tests", "amp", "resume", "multigpu", "loader", "profile", "predict", "compile", "train"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="gpu_check.sh is a bash script")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False)


def test_dry_run_lists_every_part_within_the_slot(tmp_path: Path) -> None:
    done = _run("--dry-run", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    minutes = dict(re.findall(r"^  (\w+) +~ *(\d+) min", done.stdout, flags=re.MULTILINE))
    total = int(minutes.pop("total"))
    assert list(minutes) == PARTS
    assert all(int(m) < 10 for m in minutes.values()) and total == sum(map(int, minutes.values())) < 15
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_parts_are_chosen_by_name_and_checked() -> None:
    done = _run("--dry-run", "--part", "resume", "--part=train")
    assert done.returncode == 0
    assert re.findall(r"^  (\w+) +~", done.stdout, flags=re.MULTILINE) == ["resume", "train", "total"]
    bad = _run("--dry-run", "--part", "gpu")
    assert bad.returncode == 2 and "unknown part 'gpu'; choose from: tests amp resume" in bad.stderr
    assert _run("--dry-run", "--part").returncode == 2
    assert "unknown option '--fast'" in _run("--fast").stderr
    assert _run("--dry-run", "a", "b", "c").returncode == 2
    assert "--part NAME" in _run("--help").stdout


def test_cuda_and_cpu_dice_comparison(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gpu_checks import compare_devices
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    log = {"epoch": [1, 2], "val_dice": [0.40, 0.55], "seconds": [3.0, 3.0]}
    pd.DataFrame(log).to_csv(tmp_path / "cuda.csv", index=False)
    pd.DataFrame({**log, "val_dice": [0.42, 0.60], "seconds": [20.0, 20.0]}).to_csv(tmp_path / "cpu.csv", index=False)
    compare_devices(tmp_path, tmp_path / "cuda.csv", tmp_path / "cpu.csv")
    table = pd.read_csv(tmp_path / "cuda_vs_cpu.csv")
    assert list(table["val_dice_cpu"]) == [0.42, 0.60]
    pd.DataFrame({**log, "val_dice": [0.42, 0.90]}).to_csv(tmp_path / "cpu.csv", index=False)
    with pytest.raises(AssertionError, match="final validation Dice differs by 0.350"):
        compare_devices(tmp_path, tmp_path / "cuda.csv", tmp_path / "cpu.csv")
