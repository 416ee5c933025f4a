"""Fold-parallel jobs of one cell (the README's cluster recipe) started at once on a fresh output
folder: the data folder is prepared once (the others wait), a fold job started twice runs once
(the second says which process holds it and skips), and the cell is finished exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

TINY = ["name=tiny", "data.dataset=synthetic", "data.options.count=30", "data.options.size=40", "split.folds=2",
        "input.size=32", "model.kwargs.base_channels=4", "train.epochs=1", "train.batch_size=8"]


def test_fold_jobs_of_one_cell_at_once_finish_the_cell(tmp_path: Path) -> None:
    config = tmp_path / "experiment.yaml"
    config.write_text("{}\n")
    out = tmp_path / "out"
    overrides = [a for item in [*TINY, f"output_dir={out}"] for a in ("--set", item)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jobs = [subprocess.Popen([sys.executable, "-m", "busbench", "run", str(config), *overrides, "--fold", fold],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            for fold in ("1", "2", "2")]
    outputs = [job.communicate(timeout=600)[0] for job in jobs]
    for job, output in zip(jobs, outputs, strict=True):
        assert job.returncode == 0, output
        assert "Traceback" not in output
    joined = "\n".join(outputs)
    assert "fold 2: process " in joined and "skipped here" in joined or "fold 2: already done" in joined
    (cell,) = (out / "tiny").glob("*/*")
    assert sorted(p.name for p in cell.glob("fold-*/done.json")) == ["done.json", "done.json"]
    assert set(pd.read_csv(cell / "summary.csv")["variant"]) >= {"ensemble"}
    assert (cell / "ensemble_metrics.csv").is_file()
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*.partial"))
